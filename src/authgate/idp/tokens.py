"""Minting Okta-shaped access, ID and refresh tokens (okta-wire §3.2-§3.4, §2 response shape).

Access tokens: header ``{kid, alg}``, claims in Okta's order (``ver, jti, iss, aud, iat, exp,
cid, uid, scp, auth_time, sub``) then ``cnf`` and custom claims. ``sub`` is the user's login (the
client id for client credentials); the ID token's ``sub`` is the user id. Every access token is
recorded so introspection and revocation can see it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from authgate.idp import ids
from authgate.idp.config import AppConfig, ClaimConfig, UserConfig
from authgate.idp.errors import OAuthProblem, OktaJSONResponse
from authgate.idp.keys import b64url
from authgate.idp.state import IdP, IssuedToken, RefreshRecord, ServerState

__all__ = ["Minted", "mint_access_token", "mint_id_token", "mint_refresh_token", "token_response"]

MAX_GROUPS = 100


@dataclass(frozen=True)
class Minted:
    """A signed token with its claims and lifetime."""

    token: str
    claims: dict[str, Any]
    expires_in: int


def _resolve(expression: str, app: AppConfig, user: UserConfig | None) -> Any:
    for option in (part.strip() for part in expression.split("||")):
        source, _, attr = option.partition(".")
        value: Any
        if source == "user" and user is not None:
            if attr.startswith("profile."):
                value = user.profile.get(attr.removeprefix("profile."))
            else:
                value = (
                    getattr(user, attr, None) if attr in ("id", "login", "role", "status") else None
                )
        elif source == "app":
            value = (
                getattr(app, attr, None) if attr in ("client_id", "name", "role", "type") else None
            )
        elif source in ("user", "app"):
            value = None
        else:
            value = option.strip("\"'")
        if value not in (None, ""):
            return value
    return None


def custom_claims(
    idp: IdP,
    claims: list[ClaimConfig],
    app: AppConfig,
    user: UserConfig | None,
    scopes: list[str],
    *,
    id_token: bool = False,
) -> dict[str, Any]:
    """Values of the server's custom claims for this token (absent when they resolve to nothing)."""
    out: dict[str, Any] = {}
    for claim in claims:
        if not (claim.id_token if id_token else claim.access_token):
            continue
        if claim.scopes and not set(claim.scopes) & set(scopes):
            continue
        if claim.kind == "groups":
            if user is None:
                continue
            pattern = re.compile(claim.group_filter)
            names = [g.name for g in idp.config.user_groups(user) if pattern.fullmatch(g.name)]
            if len(names) > MAX_GROUPS:
                raise OAuthProblem(
                    400,
                    "server_error",
                    "The groups claim matched too many groups and must be configured to match fewer groups.",
                )
            out[claim.name] = names
        else:
            value = _resolve(claim.value, app, user)
            if value is not None:
                out[claim.name] = value
    return out


def mint_access_token(
    server: ServerState,
    *,
    app: AppConfig,
    user: UserConfig | None,
    scopes: list[str],
    lifetime: int,
    audience: str | None = None,
    auth_time: int | None = None,
    jkt: str | None = None,
    refresh_id: str | None = None,
) -> Minted:
    """Sign and record an access token of ``server`` for ``app`` (and ``user``, if any)."""
    idp = server.idp
    now = int(idp.clock.time())
    claims: dict[str, Any] = {
        "ver": 1,
        "jti": ids.jti("AT."),
        "iss": server.issuer,
        "aud": audience or server.audience(),
        "iat": now,
        "exp": now + lifetime,
        "cid": app.client_id,
    }
    if user is not None:
        claims["uid"] = user.id
    claims["scp"] = list(scopes)
    if user is not None:
        claims["auth_time"] = auth_time if auth_time is not None else now
    claims["sub"] = user.login if user is not None else app.client_id
    if jkt is not None:
        claims["cnf"] = {"jkt": jkt}
    if not server.is_org:
        claims.update(custom_claims(idp, server.config.claims, app, user, scopes))
    token = server.token_keys.active().sign(claims)
    idp.remember_token(
        IssuedToken(claims["jti"], server.id, app.client_id, claims, refresh_id=refresh_id)
    )
    return Minted(token, claims, lifetime)


def _half_hash(token: str) -> str:
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


def mint_id_token(
    server: ServerState,
    *,
    app: AppConfig,
    user: UserConfig,
    scopes: list[str],
    auth_time: int,
    nonce: str | None = None,
    access_token: str | None = None,
    amr: list[str] | None = None,
) -> Minted:
    """Sign an ID token: ``sub`` = user id, ``aud`` = client id, 60 min (okta-wire §3.3)."""
    idp = server.idp
    now = int(idp.clock.time())
    lifetime = server.config.id_token_lifetime
    claims: dict[str, Any] = {"sub": user.id}
    if "profile" in scopes:
        name = " ".join(str(user.profile.get(k, "")) for k in ("firstName", "lastName")).strip()
        claims["name"] = name or user.login
    if "email" in scopes:
        claims["email"] = user.profile.get("email", user.login)
    claims.update(
        ver=1,
        iss=server.issuer,
        aud=app.client_id,
        iat=now,
        exp=now + lifetime,
        jti=ids.jti("ID."),
        amr=amr or ["pwd"],
        idp=idp.config.org_id,
    )
    if nonce is not None:
        claims["nonce"] = nonce
    if "profile" in scopes:
        claims["preferred_username"] = user.login
    claims["auth_time"] = auth_time
    if access_token is not None:
        claims["at_hash"] = _half_hash(access_token)
    if not server.is_org:
        claims.update(custom_claims(idp, server.config.claims, app, user, scopes, id_token=True))
    return Minted(server.keys.active().sign(claims), claims, lifetime)


def mint_refresh_token(
    server: ServerState,
    *,
    app: AppConfig,
    user: UserConfig | None,
    scopes: list[str],
    auth_time: int,
    lifetime: int | None,
    idle: int,
    jkt: str | None = None,
) -> tuple[str, RefreshRecord]:
    """An opaque refresh token and its record (``oar…`` id)."""
    idp = server.idp
    now = idp.clock.time()
    value = ids.opaque_token()
    record = RefreshRecord(
        id=ids.new_id(ids.REFRESH_TOKEN),
        server_id=server.id,
        client_id=app.client_id,
        user_id=user.id if user else None,
        scopes=list(scopes),
        issued_at=now,
        expires_at=now + lifetime if lifetime is not None else None,
        idle=float(idle),
        last_used=now,
        auth_time=auth_time,
        jkt=jkt,
        family=[value],
    )
    with idp.lock:
        idp.refresh_tokens[value] = record
    return value, record


TOKEN_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def token_response(
    *,
    access: Minted,
    scopes: list[str],
    token_type: str = "Bearer",
    refresh_token: str | None = None,
    id_token: str | None = None,
    issued_token_type: str | None = None,
) -> Response:
    """The ``/token`` 200 answer in Okta's member order with no-store headers (okta-wire §2)."""
    body: dict[str, Any] = {
        "token_type": token_type,
        "expires_in": access.expires_in,
        "access_token": access.token,
        "scope": " ".join(scopes),
    }
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    if id_token is not None:
        body["id_token"] = id_token
    if issued_token_type is not None:
        body["issued_token_type"] = issued_token_type
    return OktaJSONResponse(body, headers=TOKEN_HEADERS)
