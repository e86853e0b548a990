"""``authgate inspect``: decode a token WITHOUT verifying it, with hints for humans.

Deliberately lenient (padding, odd segments) because people paste what they have; everything it
prints is labelled UNVERIFIED. Hints catch the common mix-ups: an ID token where an access token
belongs, an Okta org-AS token (only Okta can validate it), an expired or not-yet-valid token, a
JWE, a service token.
"""

from __future__ import annotations

import base64
import binascii
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer

from authgate.errors import AuthgateError, ErrorCode

from .output import console, fail, print_json

__all__ = ["inspect_command"]


def _b64json(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise AuthgateError(
            ErrorCode.MALFORMED_TOKEN, f"segment is not base64url JSON: {exc}"
        ) from None
    if not isinstance(value, dict):
        raise AuthgateError(ErrorCode.MALFORMED_TOKEN, "segment is JSON but not an object")
    return value


def _when(ts: Any, now: float) -> str:
    if not isinstance(ts, int | float) or isinstance(ts, bool):
        return f"{ts!r} (not a number!)"
    try:
        stamp = datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return f"{ts} (out of range)"
    delta = ts - now
    rel = f"in {_span(delta)}" if delta >= 0 else f"{_span(-delta)} ago"
    return f"{stamp} ({rel})"


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def hints(header: dict[str, Any], claims: dict[str, Any], now: float) -> list[str]:
    """Plain-language observations about a decoded token."""
    out: list[str] = []
    if "nonce" in claims or "at_hash" in claims or ("amr" in claims and "scp" not in claims):
        out.append(
            "this looks like an Okta/OIDC ID token, not an access token: send the access token"
        )
    iss = claims.get("iss")
    if (
        isinstance(iss, str)
        and "/oauth2/" not in iss
        and claims.get("ver") == 1
        and "scp" in claims
    ):
        out.append(
            "issuer is an Okta org authorization server: only Okta can validate its access "
            "tokens (use introspection, or a custom authorization server for your own APIs)"
        )
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool) and exp <= now:
        out.append("the token has expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and not isinstance(nbf, bool) and nbf > now:
        out.append("the token is not valid yet (nbf in the future): check clock skew")
    if str(header.get("alg", "")).lower() == "none":
        out.append("alg 'none': an unsigned token, always refused")
    if "cnf" in claims:
        out.append("DPoP/PoP-bound token (cnf): send it with 'Authorization: DPoP' and a proof")
    if "uid" not in claims and claims.get("sub") == claims.get("cid") and "cid" in claims:
        out.append("client-credentials token (sub == cid, no uid): a machine, not a user")
    return out


def inspect_command(
    token: Annotated[str, typer.Argument(help="The token to decode (NOT verified).")],
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Decode a token without verifying it: header, claims, expiry in human terms, hints."""
    token = token.strip()
    if token.startswith("ag_"):
        fail(
            AuthgateError(
                ErrorCode.UNSUPPORTED_TOKEN_TYPE,
                "an authgate service token: it is opaque; use `authgate tokens show ID`",
            )
        )
    parts = token.split(".")
    if len(parts) == 5:
        fail(
            AuthgateError(
                ErrorCode.UNSUPPORTED_TOKEN_TYPE,
                "a JWE (encrypted) token: its claims cannot be read without the key",
            )
        )
    if len(parts) != 3:
        fail(
            AuthgateError(
                ErrorCode.MALFORMED_TOKEN, f"a JWT has 3 dot-separated parts, this has {len(parts)}"
            )
        )
    try:
        header, claims = _b64json(parts[0]), _b64json(parts[1])
    except AuthgateError as error:
        fail(error)
    now = time.time()
    notes = hints(header, claims, now)
    if json:
        print_json({"verified": False, "header": header, "claims": claims, "hints": notes})
        return
    console.print(
        "[bold yellow]UNVERIFIED[/bold yellow] — decoded only; the signature was NOT checked"
    )
    console.print("[bold]header[/bold]")
    console.print_json(orjson.dumps(header).decode())
    console.print("[bold]claims[/bold]")
    console.print_json(orjson.dumps(claims).decode())
    for name in ("iat", "nbf", "exp"):
        if name in claims:
            console.print(f"  {name}: {_when(claims[name], now)}", markup=False)
    for note in notes:
        console.print(f"hint: {note}", markup=False)
