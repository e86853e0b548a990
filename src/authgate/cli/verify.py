"""``authgate verify``: verify tokens with the same code path as the library and the gateway.

Flags describe one issuer; without ``--issuer`` the configured settings (``AUTHGATE_*`` env and
the TOML file) are used. ``-`` reads one token per line from stdin and writes one JSON line per
token, so a batch can be checked in a pipeline; the exit code is 0 only if all verified.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from authgate.errors import AuthError, AuthgateError, ConfigError
from authgate.principal import Principal
from authgate.settings import IssuerSettings, load_settings
from authgate.verifier import TokenVerifier
from authgate.verifier_builder import build_issuer, build_key_source, build_verifier

from .output import console, fail, print_json

__all__ = ["verify_command"]


def _issuer_from_flags(**flags: Any) -> IssuerSettings:
    data = {k: v for k, v in flags.items() if v not in (None, [], ())}
    try:
        return IssuerSettings(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError("--" + str(first["loc"][0]).replace("_", "-"), first["msg"]) from None


def _verifier(config: Path | None, issuer: str | None, flags: dict[str, Any]) -> TokenVerifier:
    if issuer is None:
        return build_verifier(load_settings(config))
    cfg = _issuer_from_flags(issuer=issuer, **flags)
    return TokenVerifier([build_issuer(cfg, build_key_source(cfg))], verdict_cache=None)


def _result(verifier: TokenVerifier, token: str) -> tuple[Principal | None, AuthError | None]:
    try:
        return verifier.verify(token), None
    except AuthError as error:
        return None, error


def verify_command(
    token: Annotated[
        str, typer.Argument(help="The token, or '-' to read one per line from stdin.")
    ],
    issuer: Annotated[str | None, typer.Option(help="Accepted issuer (exact `iss`).")] = None,
    audience: Annotated[
        list[str] | None, typer.Option(help="Accepted audience (repeatable).")
    ] = None,
    jwks_url: Annotated[str | None, typer.Option(help="JWKS URL (http only on loopback).")] = None,
    jwks_file: Annotated[
        Path | None, typer.Option(help="JWKS JSON or PEM public key file.")
    ] = None,
    discovery: Annotated[str | None, typer.Option(help="Discovery document URL.")] = None,
    secret_env: Annotated[
        str | None, typer.Option(help="Env var holding an HS256/384/512 secret.")
    ] = None,
    algorithm: Annotated[list[str] | None, typer.Option(help="Allowed alg (repeatable).")] = None,
    required_scope: Annotated[
        list[str] | None, typer.Option(help="Scope the token must have (repeatable).")
    ] = None,
    leeway: Annotated[float | None, typer.Option(help="Clock leeway in seconds.")] = None,
    no_audience_check: Annotated[
        bool, typer.Option("--no-audience-check", help="Accept any audience (not recommended).")
    ] = False,
    config: Annotated[Path | None, typer.Option(help="TOML settings file.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Verify a token (signature, issuer, audience, expiry, scopes) and show its Principal."""
    flags: dict[str, Any] = {
        "audiences": audience,
        "jwks_uri": jwks_url,
        "jwks_file": jwks_file,
        "discovery_url": discovery,
        "hs_secret_env": secret_env,
        "algorithms": algorithm,
        "required_scopes": required_scope,
        "leeway": leeway,
        "skip_audience_check": no_audience_check or None,
    }
    try:
        if issuer is None and any(v not in (None, [], ()) for v in flags.values()):
            raise ConfigError("--issuer", "key and claim flags describe an issuer: add --issuer")
        verifier = _verifier(config, issuer, flags)
    except AuthgateError as exc:
        fail(exc, exit_code=2)
    try:
        if token == "-":
            _verify_stream(verifier)
        else:
            _verify_one(verifier, token.strip(), json=json)
    finally:
        asyncio.run(verifier.aclose())  # closes key-fetch connections


def _verify_one(verifier: TokenVerifier, token: str, *, json: bool) -> None:
    principal, error = _result(verifier, token)
    if json:
        print_json(_line(principal, error))
    elif principal is not None:
        _show(principal)
    if error is not None:
        if not json:
            fail(error)
        raise typer.Exit(1)


def _line(principal: Principal | None, error: AuthError | None) -> dict[str, Any]:
    if principal is not None:
        return {"ok": True, "principal": principal.to_dict()}
    if error is None:  # unreachable: _result returns exactly one of the two
        raise RuntimeError("neither a principal nor an error")
    return {"ok": False, "code": str(error.code), "message": error.detail}


def _verify_stream(verifier: TokenVerifier) -> None:
    all_ok = True
    for raw in sys.stdin:
        token = raw.strip()
        if not token:
            continue
        principal, error = _result(verifier, token)
        all_ok &= principal is not None
        print_json(_line(principal, error))
    if not all_ok:
        raise typer.Exit(1)


def _show(principal: Principal) -> None:
    console.print("[green]valid[/green] token")
    for name, value in principal.to_dict().items():
        if value in (None, [], ()):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        # Claim values come from the token: never let them be read as rich markup.
        console.print(f"  {name:<11} {shown}", markup=False, highlight=False)
