"""``authgate config import``: convert another product's auth settings (docs/migration/).

``--from {aspnet,env-jwt,orcheo,tacacs-ini} FILE`` prints a TOML config file (default) or
``AUTHGATE_*`` lines (``--format env``); INI AAA sources print an ``authgate aaa`` YAML file.
Notes on anything that did not map one to one are comments at the top. ``--output`` writes a
file instead of stdout. Errors are one line with their code (exit 1).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from authgate.config_import import convert_file
from authgate.errors import AuthgateError

from .output import err_console, fail

__all__ = ["app"]

app = typer.Typer(help="Convert existing auth settings to authgate's.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Convert existing auth settings to authgate's (docs/migration/)."""


class FromFormat(StrEnum):
    aspnet = "aspnet"
    env_jwt = "env-jwt"
    orcheo = "orcheo"
    tacacs_ini = "tacacs-ini"


class OutFormat(StrEnum):
    toml = "toml"
    env = "env"


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="The settings to convert.")],
    source: Annotated[FromFormat, typer.Option("--from", help="Format of FILE.")],
    out_format: Annotated[
        OutFormat, typer.Option("--format", help="toml (config file) or env (AUTHGATE_* lines).")
    ] = OutFormat.toml,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Convert FILE to an authgate config file (or env lines); notes say what differs."""
    try:
        result = convert_file(source.value, file)
    except AuthgateError as error:
        fail(error)
    text = result.to_env() if out_format is OutFormat.env else result.to_toml()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {output} ({len(result.notes)} notes)")
