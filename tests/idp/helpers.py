"""Client-side helpers for dev-IdP tests: client assertions (RFC 7523) and DPoP proofs (RFC 9449)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from tests.support.idp_server import ServedIdP

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_part(claims: dict[str, Any]) -> str:
    return b64(json.dumps(claims).encode())


def decode_part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return value


def assertion(
    served: ServedIdP,
    app_name: str,
    *,
    endpoint: str = "token",
    server_id: str = "default",
    header: dict[str, Any] | None = None,
    key: RSAKey | ECKey | OctKey | None = None,
    drop: tuple[str, ...] = (),
    **claims: Any,
) -> str:
    """A client assertion for ``app_name`` signed with its generated test key (or ``key``)."""
    app = served.idp.config.app(app_name)
    assert app is not None
    now = int(served.idp.clock.time())
    body: dict[str, Any] = {
        "iss": app.client_id,
        "sub": app.client_id,
        "aud": served.endpoint(endpoint, server_id),
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    body.update(claims)
    for name in drop:
        body.pop(name, None)
    if key is None:
        jwk = served.idp.client_private_jwk(app_name)
        key = RSAKey.import_key(jwk)
        head = {"alg": "RS256", "kid": jwk["kid"]}
    else:
        head = {"alg": "RS256"}
    head.update(header or {})
    return jwt.encode(head, body, key, algorithms=[head["alg"]])


def assertion_form(value: str, **extra: str) -> dict[str, str]:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": value, **extra}


def dpop_key() -> ECKey:
    return ECKey.generate_key("P-256")


def proof(
    key: ECKey | RSAKey,
    url: str,
    *,
    method: str = "POST",
    nonce: str | None = None,
    access_token: str | None = None,
    iat: float | None = None,
    jti: str | None = None,
    typ: str = "dpop+jwt",
    alg: str = "ES256",
    **extra: Any,
) -> str:
    """A DPoP proof JWT made with ``key`` (public JWK in the header)."""
    claims: dict[str, Any] = {
        "htm": method,
        "htu": url,
        "iat": int(iat if iat is not None else time.time()),
        "jti": jti if jti is not None else str(uuid.uuid4()),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        digest = hashlib.sha256(access_token.encode()).digest()
        claims["ath"] = b64(digest)
    claims.update(extra)
    header = {"typ": typ, "alg": alg, "jwk": key.as_dict(private=False)}
    return jwt.encode(header, claims, key, algorithms=[alg])


def secret_of(served: ServedIdP, app_name: str) -> tuple[str, str]:
    app = served.idp.config.app(app_name)
    assert app is not None
    assert app.client_secret is not None
    return app.client_id, app.client_secret
