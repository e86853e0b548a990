"""``authgate demo``: the README's first command — a dev IdP, a real token, its verification.

Everything runs locally and offline: the dev IdP (Okta-compatible) is served on a loopback port,
a token is fetched with client credentials over HTTP exactly as a service would, and verified
with the same code path as the library (discovery → JWKS → signature → claims → Principal).
It then prints copy-paste ``curl`` and ``authgate`` lines and keeps the IdP up until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import shlex
import threading
from typing import Annotated

import httpx
import typer

from authgate.errors import AuthError, AuthgateError
from authgate.idp.app import bind, make_server
from authgate.idp.config import IdPConfig
from authgate.idp.state import IdP
from authgate.jose.discovery import DiscoveredJWKS
from authgate.principal import ClaimMapping
from authgate.verifier import IssuerConfig, TokenVerifier

from .output import console, fail

__all__ = ["demo_command"]


def _token(idp: IdP, app_name: str, scope: str) -> str:
    app = idp.app(app_name)
    if app is None or app.client_secret is None:
        raise typer.BadParameter(f"demo app {app_name!r} missing from the IdP config")
    response = httpx.post(
        idp.server("default").endpoint("token"),
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(app.client_id, app.client_secret),
        timeout=10,
    )
    body = response.json()
    if response.status_code != 200:
        raise typer.BadParameter(f"token request failed: {body}")
    return str(body["access_token"])


def demo_command(
    port: Annotated[
        int, typer.Option(help="Port for the dev IdP (busy → any free port; 0 = any).")
    ] = 9000,
    once: Annotated[bool, typer.Option(help="Exit after the walk-through (for scripts).")] = False,
) -> None:
    """Start the dev IdP, fetch a token with client credentials, verify it, print next steps."""
    idp = IdP(IdPConfig.default())
    try:
        sock = bind("127.0.0.1", port)
    except OSError:
        sock = bind("127.0.0.1", 0)  # the default port is taken: any free one will do
    server = make_server(idp, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _walkthrough(idp)
        if not once:
            console.print("\n[dim]dev IdP running — Ctrl-C to stop[/dim]")
            thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _walkthrough(idp: IdP) -> None:
    issuer = idp.server("default").issuer
    service, admin = idp.app("demo-service"), idp.app("demo-admin")
    if service is None or admin is None:
        raise typer.BadParameter("the demo config lacks demo-service/demo-admin")
    console.print(f"[bold]1. dev IdP[/bold] (Okta-compatible, offline) at {idp.base_url}")
    console.print(f"   issuer  {issuer}")
    console.print(f"   discovery {issuer}/.well-known/openid-configuration", soft_wrap=True)
    token = _token(idp, "demo-service", "api:read")
    console.print("\n[bold]2. a token[/bold] from the client-credentials grant (demo-service):")
    curl = (
        f"curl -s -u {service.client_id}:{service.client_secret} "
        f"-d grant_type=client_credentials -d scope=api:read {issuer}/v1/token"
    )
    console.print(f"   {curl}", soft_wrap=True)
    verifier = TokenVerifier(
        [
            IssuerConfig(
                issuer,
                DiscoveredJWKS(issuer),
                audiences=("api://default",),
                claims=ClaimMapping(default_role="User"),
            )
        ]
    )
    try:
        principal = verifier.verify(token)
        console.print("\n[bold]3. verified[/bold] (discovery → JWKS → RS256 → claims):")
        for key in ("subject", "kind", "client_id", "scopes", "roles", "token_id"):
            console.print(f"   {key:<10} {principal.to_dict()[key]}")
        try:
            principal.require_role("Admin")
        except AuthError as error:
            console.print(
                f"   require_role('Admin') → {error.status} {error.code}: {error.detail}",
                markup=False,
                soft_wrap=True,
            )
    except AuthgateError as error:
        fail(error)
    finally:
        asyncio.run(verifier.aclose())
    console.print("\n[bold]4. try it yourself[/bold] (copy-paste):")
    get_token = (
        f"TOKEN=$(curl -s -u {admin.client_id}:{admin.client_secret} -d grant_type=client_credentials "
        f"-d scope=api:read {issuer}/v1/token | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )
    console.print(f"   {get_token}", soft_wrap=True, markup=False)
    verify = f'authgate verify "$TOKEN" --issuer {shlex.quote(issuer)} --audience api://default'
    console.print(f"   {verify} --jwks-url {issuer}/v1/keys", soft_wrap=True, markup=False)
    console.print('   authgate inspect "$TOKEN"', markup=False)
    console.print(
        f'   authgate verify "$TOKEN" --issuer {issuer}/ --jwks-url {issuer}/v1/keys   '
        "# trailing slash: refused with auth.invalid_issuer",
        soft_wrap=True,
        markup=False,
    )
