"""Command authorization rules by privilege level (RFC 8907 §6.1 ``cmd``/``cmd-arg``; Cisco levels 0–15).

Rules are checked in order and the first rule that applies decides; nothing applies → deny.
A rule applies when the user's level is at least ``min_privilege`` and the whole command line
(``cmd`` plus its ``cmd-arg`` values, spaces collapsed) matches ``pattern``, case-insensitively.
The group → level half lives in the Okta client (:class:`authgate.okta.groups.PrivilegeMap`)
and is re-exported here so AAA code has one import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from authgate.okta.groups import PrivilegeMap

__all__ = ["CommandPolicy", "CommandRule", "PrivilegeMap", "command_line"]


@dataclass(frozen=True, slots=True)
class CommandRule:
    """Users at ``min_privilege`` or above may (``allow``) or may not run matching commands."""

    pattern: str
    min_privilege: int = 0
    allow: bool = True

    def matches(self, command: str) -> bool:
        return re.fullmatch(self.pattern, command, flags=re.IGNORECASE) is not None


class CommandPolicy:
    """Ordered :class:`CommandRule` list; patterns compile at start, not on the first command."""

    def __init__(self, rules: Iterable[CommandRule]) -> None:
        self.rules = tuple(rules)
        for rule in self.rules:
            re.compile(rule.pattern)

    def allows(self, privilege: int, command: str) -> bool:
        normalized = " ".join(command.split())
        for rule in self.rules:
            if privilege >= rule.min_privilege and rule.matches(normalized):
                return rule.allow
        return False


def command_line(args: Sequence[str]) -> str | None:
    """``cmd=show`` + ``cmd-arg=version`` → ``show version``; None when no ``cmd`` (a shell start).

    ``<cr>`` is the IOS end-of-line marker sent as the last ``cmd-arg``; it is not part of
    the command.
    """
    cmd: str | None = None
    parts: list[str] = []
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep:
            name, sep, value = arg.partition("*")
        if name == "cmd":
            cmd = value
        elif name == "cmd-arg" and value != "<cr>":
            parts.append(value)
    if not cmd:
        return None
    return " ".join([cmd, *parts])
