"""``authgate okta groups USER``: a user's Okta groups via the Management API (okta-wire §5.3).

Auth is an SSWS API token from the environment (``AUTHGATE_OKTA_SSWS_TOKEN`` or the variable
named by ``AUTHGATE_OKTA_SSWS_TOKEN_ENV``) or OAuth through the org authorization server
(``private_key_jwt`` with the configured key). Output: a rich table, or ``--json``.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from authgate.errors import AuthgateError
from authgate.okta.management import OktaGroup
from authgate.okta.settings import build_management_client, load_okta_settings

from .output import console, fail, print_json

__all__ = ["app"]

app = typer.Typer(help="Query the Okta Management API.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Query the Okta Management API (keeps ``groups`` a sub-command as more are added)."""


@app.command("groups")
def groups(
    user: Annotated[str, typer.Argument(help="User id, login or login short name.")],
    org_url: Annotated[
        str | None, typer.Option("--org-url", help="AUTHGATE_OKTA_MANAGEMENT_URL.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML file with an [okta] table.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List USER's groups (all pages)."""

    async def go() -> list[OktaGroup]:
        settings = load_okta_settings(config, management_url=org_url)
        api = build_management_client(settings)
        async with api:
            found = await api.user_groups(user)
        await api.transport.aclose()
        return found

    try:
        found = asyncio.run(go())
    except AuthgateError as error:
        fail(error)
    if as_json:
        print_json([asdict(g) for g in found])
        return
    table = Table(title=f"Okta groups of {user}")
    for column in ("name", "type", "id", "description"):
        table.add_column(column)
    for group in found:
        table.add_row(group.name, group.type, group.id, group.description)
    console.print(table)
