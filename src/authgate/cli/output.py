"""Shared CLI output: rich consoles (colour only on a TTY), one-line errors with their code."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from authgate.errors import AuthgateError

__all__ = ["console", "err_console", "fail", "print_json"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Machine-readable output for ``--json`` (one document, sorted keys, newline-terminated)."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode() + "\n")
    sys.stdout.flush()


def fail(error: AuthgateError, *, exit_code: int = 1) -> NoReturn:
    """Print ``error: <message> [<code>]`` on stderr and exit."""
    err_console.print(f"[red]error:[/red] {escape(error.detail)} [dim]\\[{error.code}][/dim]")
    raise typer.Exit(exit_code)
