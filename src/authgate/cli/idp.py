"""``authgate idp``: run the offline Okta-compatible dev authorization server (okta-wire §1-§6).

Prints the issuer of every authorization server and, for the built-in demo org only, the demo
clients' ids and secrets, labelled DEV-ONLY. With ``--config`` secrets are never printed (they
may be real); only client ids are. ``--port 0`` picks a free port and prints it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from authgate.errors import ConfigError
from authgate.idp.app import bind, make_server
from authgate.idp.config import IdPConfig
from authgate.idp.state import IdP

from .output import fail

__all__ = ["app", "describe"]

app = typer.Typer(help="Run the offline Okta-compatible dev IdP.")


def describe(idp: IdP, *, show_secrets: bool) -> list[str]:
    """The lines printed at start: URLs, clients, tokens (secrets only when ``show_secrets``)."""
    lines = [f"authgate dev IdP listening on {idp.base_url}", "", "Authorization servers:"]
    for server in idp.servers():
        label = "org AS" if server.is_org else f"{server.config.name or server.id} ({server.id})"
        root = idp.base_url if server.is_org else server.base
        lines.append(f"  {label:<28} issuer {server.issuer}")
        lines.append(f"  {'':<28} discovery {root}/.well-known/openid-configuration")
    warning = "DEV-ONLY demo credentials" if show_secrets else "clients (secrets not shown)"
    lines += ["", f"Clients — {warning}:"]
    for client in idp.config.apps:
        secret = ""
        if show_secrets and client.client_secret:
            secret = f" secret={client.client_secret}"
        elif client.generate_key:
            secret = " key=generated at start (private JWK via IdP.client_private_jwk)"
        lines.append(
            f"  {client.name:<14} client_id={client.client_id} auth={client.auth_method}{secret}"
        )
    if show_secrets:
        lines += ["", "Users (DEV-ONLY passwords):"]
        lines += [f"  {u.login:<20} {u.password} [{u.status}]" for u in idp.config.users]
        lines.append("")
        lines += [f"SSWS API token (DEV-ONLY): {t.value}" for t in idp.config.api_tokens]
        lines.append(f"Admin API token (DEV-ONLY): {idp.config.admin_token}")
    return lines


@app.callback(invoke_without_command=True)
def idp_command(
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML or TOML file (default: built-in demo).")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0 = any free port).")] = 9000,
) -> None:
    """Serve the dev IdP until interrupted."""
    try:
        settings = IdPConfig.load(config) if config else IdPConfig.default()
    except ConfigError as exc:
        fail(exc)
    idp = IdP(settings)
    try:
        sock = bind(host, port)
    except OSError as exc:
        fail(ConfigError("--port", f"cannot listen on {host}:{port}: {exc.strerror}"))
    server = make_server(idp, sock, log_level="info")
    for line in describe(idp, show_secrets=config is None):
        typer.echo(line)
    server.run(sockets=[sock])
