"""Route policies: ``rules`` (TOML/YAML files, matching), ``checks`` (requirements), ``reload``."""

from authgate.policy.checks import check_rule, no_rule
from authgate.policy.reload import PolicyHolder, PolicyWatcher
from authgate.policy.rules import (
    Policy,
    PolicyError,
    Rule,
    canonical_path,
    load_policy,
    parse_policy,
)

__all__ = [
    "Policy",
    "PolicyError",
    "PolicyHolder",
    "PolicyWatcher",
    "Rule",
    "canonical_path",
    "check_rule",
    "load_policy",
    "no_rule",
    "parse_policy",
]
