"""Group → privilege mapping and command authorization rules (Cisco IOS levels 0–15, RFC 8907 §8.3).

Group names compare case-insensitively (Okta group names are case-preserving but unique
without regard to case) and the highest mapped level wins. Command rules are checked in order,
first match decides, and nothing matches → deny.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["CommandPolicy", "CommandRule", "PrivilegeMap"]

MAX_LEVEL = 15


class PrivilegeMap:
    """``{"Network-Admins": 15, "Operators": 7}`` → the level for a set of groups, or None."""

    def __init__(self, mapping: Mapping[str, int], default: int | None = None) -> None:
        for group, level in mapping.items():
            if not 0 <= level <= MAX_LEVEL:
                raise ValueError(f"privilege for group {group!r} must be 0..15, got {level}")
        self._levels = {group.casefold(): level for group, level in mapping.items()}
        self.default = default

    def level_for(self, groups: Iterable[str]) -> int | None:
        """The highest level any of ``groups`` maps to; ``default`` when none is mapped."""
        found = [self._levels[g.casefold()] for g in groups if g.casefold() in self._levels]
        return max(found) if found else self.default


@dataclass(frozen=True, slots=True)
class CommandRule:
    """Users at ``min_privilege`` or above may (``allow``) or may not run commands matching ``pattern``."""

    pattern: str
    min_privilege: int = 0
    allow: bool = True

    def matches(self, command: str) -> bool:
        return re.fullmatch(self.pattern, command, flags=re.IGNORECASE) is not None


class CommandPolicy:
    """Ordered rules; a rule applies when the command matches and the user's level is high enough."""

    def __init__(self, rules: Iterable[CommandRule]) -> None:
        self.rules = tuple(rules)
        for rule in self.rules:
            re.compile(rule.pattern)  # fail at start, not on the first device command

    def allows(self, privilege: int, command: str) -> bool:
        normalized = " ".join(command.split())
        for rule in self.rules:
            if privilege >= rule.min_privilege and rule.matches(normalized):
                return rule.allow
        return False
