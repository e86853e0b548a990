"""``authgate`` entry point: assembles the command groups (explicitly, nothing at import time)."""

from __future__ import annotations

from typing import Annotated

import typer

from authgate import __version__

from . import aaa, audit, config, idp, okta, policy, token, tokens
from .demo import demo_command
from .doctor import doctor_command
from .inspect import inspect_command
from .serve import serve_command
from .verify import verify_command

__all__ = ["app", "main"]

app = typer.Typer(
    name="authgate",
    help="Verify Okta/OIDC tokens, run the gateway, the dev IdP and network AAA.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("verify")(verify_command)
app.command("inspect")(inspect_command)
app.command("demo")(demo_command)
app.command("serve")(serve_command)
app.command("doctor")(doctor_command)
app.add_typer(policy.app, name="policy")
app.add_typer(config.app, name="config")
app.add_typer(idp.app, name="idp")
app.add_typer(tokens.app, name="tokens")
app.add_typer(audit.app, name="audit")
app.add_typer(token.app, name="token")
app.add_typer(okta.app, name="okta")
app.add_typer(aaa.app, name="aaa")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"authgate {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """authgate command line."""


def main() -> None:
    app()
