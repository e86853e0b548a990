"""``authgate token fetch|exchange``: tokens from Okta for scripts and CI (RFC 6749 §4.4, RFC 8693).

Configuration comes from flags, ``AUTHGATE_OKTA_*`` and the ``[okta]`` TOML table; the client
secret only from the environment and keys only from files or the environment, never from a
flag. ``--decode`` shows the token's header and claims WITHOUT verifying them (for debugging).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from authgate.errors import AuthgateError
from authgate.okta.settings import OktaSettings, build_token_client, load_okta_settings
from authgate.okta.token_cache import TokenResponse
from authgate.okta.token_client import ACCESS_TOKEN_TYPE

from .output import fail, print_json

__all__ = ["app"]

app = typer.Typer(
    help="Get tokens from Okta (client credentials, token exchange).", no_args_is_help=True
)
SUBJECT_ENV = "AUTHGATE_OKTA_SUBJECT_TOKEN"

Config = Annotated[Path | None, typer.Option("--config", help="TOML file with an [okta] table.")]
Issuer = Annotated[str | None, typer.Option(help="Issuer (AUTHGATE_OKTA_ISSUER).")]
ClientId = Annotated[
    str | None, typer.Option("--client-id", help="Client id (AUTHGATE_OKTA_CLIENT_ID).")
]
Scope = Annotated[list[str] | None, typer.Option("--scope", "-s", help="Scope (repeatable).")]
KeyFile = Annotated[
    Path | None, typer.Option("--private-key-file", help="PEM/JWK key for private_key_jwt.")
]
Method = Annotated[
    str | None, typer.Option("--auth-method", help="client_secret_basic, private_key_jwt, ...")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the whole token response as JSON.")]
Decode = Annotated[
    bool, typer.Option("--decode", help="Print the token's header and claims (unverified).")
]
Dpop = Annotated[bool | None, typer.Option("--dpop/--no-dpop", help="Send DPoP proofs.")]


def _settings(config: Path | None, **flags: Any) -> OktaSettings:
    return load_okta_settings(config, **flags)


def _segment(part: str) -> Any:
    import base64

    padded = part + "=" * (-len(part) % 4)
    return orjson.loads(base64.urlsafe_b64decode(padded))


def _show(token: TokenResponse, as_json: bool, decode: bool) -> None:
    if decode:
        parts = token.access_token.split(".")
        try:
            decoded = {"header": _segment(parts[0]), "claims": _segment(parts[1])}
        except (IndexError, ValueError):
            decoded = {"error": "the access token is opaque (not a JWT)"}
        decoded["verified"] = False
        if as_json:
            print_json({"token": token.to_dict(), "decoded": decoded})
        else:
            sys.stdout.write(orjson.dumps(decoded, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if as_json:
        print_json(token.to_dict())
    else:
        sys.stdout.write(token.access_token + "\n")


def _run(settings: OktaSettings, call: str, **kwargs: Any) -> TokenResponse:
    async def go() -> TokenResponse:
        client = build_token_client(settings)
        try:
            method = getattr(client, call)
            result: TokenResponse = await method(**kwargs)
            return result
        finally:
            await client.aclose()

    return asyncio.run(go())


@app.command("fetch")
def fetch(
    config: Config = None,
    issuer: Issuer = None,
    client_id: ClientId = None,
    scope: Scope = None,
    private_key_file: KeyFile = None,
    auth_method: Method = None,
    dpop: Dpop = None,
    as_json: AsJson = False,
    decode: Decode = False,
) -> None:
    """Client credentials token (secret from AUTHGATE_OKTA_CLIENT_SECRET or a key file)."""
    try:
        settings = _settings(
            config, issuer=issuer, client_id=client_id, scopes=scope or None,
            private_key_file=private_key_file, auth_method=auth_method, dpop=dpop,
        )  # fmt: skip
        token = _run(settings, "aclient_credentials", scopes=settings.scopes)
    except AuthgateError as error:
        fail(error)
    _show(token, as_json, decode)


@app.command("exchange")
def exchange(
    subject_token: Annotated[
        str | None,
        typer.Argument(help=f"The user's token; '-' reads stdin; default ${SUBJECT_ENV}."),
    ] = None,
    audience: Annotated[
        str | None, typer.Option(help="Target audience (AUTHGATE_OKTA_AUDIENCE).")
    ] = None,
    subject_token_type: Annotated[
        str, typer.Option(help="RFC 8693 token type URN.")
    ] = ACCESS_TOKEN_TYPE,
    config: Config = None,
    issuer: Issuer = None,
    client_id: ClientId = None,
    scope: Scope = None,
    private_key_file: KeyFile = None,
    auth_method: Method = None,
    as_json: AsJson = False,
    decode: Decode = False,
) -> None:
    """Token exchange (on-behalf-of): a downstream token for a user's token."""
    if subject_token == "-":
        subject_token = sys.stdin.read().strip()
    elif subject_token is None:
        subject_token = os.environ.get(SUBJECT_ENV, "").strip()
    try:
        if not subject_token:
            from authgate.errors import ErrorCode
            from authgate.okta.errors import OktaError

            raise OktaError(
                ErrorCode.OKTA_INVALID_REQUEST,
                f"no subject token: pass it, '-' for stdin, or set {SUBJECT_ENV}",
            )
        settings = _settings(
            config, issuer=issuer, client_id=client_id, scopes=scope or None,
            private_key_file=private_key_file, auth_method=auth_method, audience=audience,
        )  # fmt: skip
        if not settings.audience:
            from authgate.errors import ConfigError

            raise ConfigError("AUTHGATE_OKTA_AUDIENCE", "token exchange needs --audience")
        token = _run(
            settings, "aexchange", subject_token=subject_token, audience=settings.audience,
            scopes=settings.scopes, subject_token_type=subject_token_type,
        )  # fmt: skip
    except AuthgateError as error:
        fail(error)
    _show(token, as_json, decode)
