"""``authgate doctor``: check the configuration live, one line per check (docs/operations.md).

Reads the same settings as ``serve`` and the Okta client (``--config`` plus ``AUTHGATE_*``),
shows a progress spinner on a terminal, prints a table (a plain line per check when piped) or
``--json``, and exits 0 when everything passed, 1 on a warning, 2 on a failure — so CI can gate
a deployment on it.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.status import Status as Spinner

from authgate.doctor import load_context, run_doctor

from .output import console, err_console, print_json

__all__ = ["doctor_command"]


def doctor_command(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML config file (issuers, [okta], [gateway])."),
    ] = None,
    subject_token: Annotated[
        str | None,
        typer.Option(
            "--subject-token",
            help="A user's access token to try token exchange with; '-' reads it from stdin.",
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output for CI.")] = False,
) -> None:
    """Check discovery, keys, clock skew, the Okta client, the token store and the policy live.

    Exit code: 0 all passed, 1 a warning, 2 a failure.
    """
    if subject_token == "-":
        subject_token = sys.stdin.readline().strip() or None
    spinner: Spinner | None = None
    if err_console.is_terminal and not json:
        spinner = err_console.status("checking …")
        spinner.start()

    def progress(step: str) -> None:
        if spinner is not None:
            spinner.update(f"checking {step} …")

    try:
        ctx = load_context(config, subject_token=subject_token, progress=progress)
        report = asyncio.run(run_doctor(ctx))
    finally:
        if spinner is not None:
            spinner.stop()
    if json:
        print_json(report.to_dict())
    else:
        report.render(console)
    raise typer.Exit(report.exit_code)
