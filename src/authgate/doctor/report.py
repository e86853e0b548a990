"""Doctor results (issue #9): one line per check — pass/warn/fail, a short reason and the fix.

A :class:`Report` renders three ways: a rich table on a terminal, one plain line per check when
piped (CI logs stay greppable), and ``--json`` for machines. Its exit code is the worst status:
0 = every check passed (or was skipped), 1 = a warning, 2 = a failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["CheckResult", "Report", "Status"]


class Status(StrEnum):
    """Outcome of one check; ``skip`` means "not configured", never a problem."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


_EXIT = {Status.PASS: 0, Status.SKIP: 0, Status.WARN: 1, Status.FAIL: 2}
_STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "red", Status.SKIP: "dim"}


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict. ``code`` is the stable error code behind a failure, when there is one."""

    check: str
    status: Status
    reason: str
    fix: str = ""
    code: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"check": self.check, "status": str(self.status)}
        data["reason"] = self.reason
        if self.fix:
            data["fix"] = self.fix
        if self.code:
            data["code"] = self.code
        if self.details:
            data["details"] = self.details
        return data

    def line(self) -> str:
        """The plain one-line form: ``FAIL issuer [x]: reason — fix: ...``."""
        text = f"{self.status.upper():4} {self.check}: {self.reason}"
        if self.code:
            text += f" [{self.code}]"
        if self.fix:
            text += f" — fix: {self.fix}"
        return text


@dataclass
class Report:
    """Every check's result, in the order they ran."""

    results: list[CheckResult] = field(default_factory=list)

    def add(self, result: CheckResult) -> CheckResult:
        self.results.append(result)
        return result

    def extend(self, results: Iterable[CheckResult]) -> None:
        self.results.extend(results)

    def by_check(self, prefix: str) -> list[CheckResult]:
        """Results whose check name starts with ``prefix`` (handy in tests and scripts)."""
        return [r for r in self.results if r.check.startswith(prefix)]

    def counts(self) -> dict[str, int]:
        return {s.value: sum(r.status is s for r in self.results) for s in Status}

    @property
    def exit_code(self) -> int:
        return max((_EXIT[r.status] for r in self.results), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checks": [r.to_dict() for r in self.results],
            "summary": self.counts(),
            "exit_code": self.exit_code,
        }

    def render(self, console: Console) -> None:
        """A table on a terminal; one plain line per check otherwise."""
        if console.is_terminal:
            table = Table(show_lines=False, header_style="bold")
            for column in ("", "check", "result", "fix"):
                table.add_column(column, overflow="fold")
            for r in self.results:
                style = _STYLE[r.status]
                reason = r.reason + (f" [{r.code}]" if r.code else "")
                table.add_row(
                    f"[{style}]{r.status.upper()}[/{style}]",
                    escape(r.check),
                    escape(reason),
                    escape(r.fix),
                )
            console.print(table)
        else:
            for r in self.results:
                console.print(escape(r.line()), soft_wrap=True)
        counts = self.counts()
        console.print(
            f"{counts['pass']} passed, {counts['warn']} warnings, {counts['fail']} failed, "
            f"{counts['skip']} skipped (exit {self.exit_code})",
            soft_wrap=True,
        )
