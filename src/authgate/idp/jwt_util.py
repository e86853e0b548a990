"""Compact JWS helpers for client assertions and DPoP proofs (RFC 7515 §7.1, RFC 7519 §7.2).

Parsing is strict and separate from verification because Okta names the failing step in its
error text (parse vs kid vs alg vs signature); verification delegates to joserfc.
"""

from __future__ import annotations

from typing import Any

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey, RSAKey

from authgate.idp.keys import b64url_decode

__all__ = ["ASYMMETRIC_ALGS", "HMAC_ALGS", "MAX_JWT", "parse_compact", "verify_hmac", "verify_jwk"]

ASYMMETRIC_ALGS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"})
HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})
MAX_JWT = 16 * 1024


def parse_compact(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS without verifying it; ValueError when malformed."""
    if not token or len(token) > MAX_JWT or token.count(".") != 2:
        raise ValueError("not a compact JWS")
    head, body, signature = token.split(".")
    if not signature:
        raise ValueError("unsigned")
    try:
        header = orjson.loads(b64url_decode(head))
        claims = orjson.loads(b64url_decode(body))
    except orjson.JSONDecodeError as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("not JSON objects")
    return header, claims


def verify_jwk(token: str, jwk: dict[str, Any], alg: str) -> bool:
    """True when ``token`` carries a valid ``alg`` signature by the public ``jwk``."""
    try:
        key: RSAKey | ECKey
        if jwk.get("kty") == "RSA" and alg.startswith("RS"):
            key = RSAKey.import_key(_public(jwk))
        elif jwk.get("kty") == "EC" and alg.startswith("ES"):
            key = ECKey.import_key(_public(jwk))
        else:
            return False
        jws.deserialize_compact(token, key, algorithms=[alg])
    except (JoseError, ValueError, TypeError):
        return False
    return True


def verify_hmac(token: str, secret: str, alg: str) -> bool:
    """True when ``token`` carries a valid HMAC ``alg`` signature made with ``secret``."""
    try:
        jws.deserialize_compact(token, OctKey.import_key(secret.encode()), algorithms=[alg])
    except (JoseError, ValueError, TypeError):
        return False
    return True


def _public(jwk: dict[str, Any]) -> dict[str, Any]:
    # Only public members: a client JWKS must never be treated as holding private material.
    allowed = {"kty", "n", "e", "crv", "x", "y", "kid", "alg", "use"}
    return {k: v for k, v in jwk.items() if k in allowed}
