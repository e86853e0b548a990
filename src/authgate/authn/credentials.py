"""Credential extraction from HTTP/WebSocket requests (RFC 6750 §2, RFC 9449 §7.1).

Strict where ambiguity helps an attacker: two ``Authorization`` headers, two ``DPoP`` headers, or
a token outside the RFC 6750 ``b64token`` syntax are refused rather than guessed at. The scheme
name is case-insensitive (RFC 9110 §11.1), so ``bearer x`` is the same as ``Bearer x``. Query
tokens are read only for WebSocket handshakes and only when enabled (RFC 6750 §2.3 warns why).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

from authgate.authn.base import Credential
from authgate.errors import AuthError, ErrorCode

__all__ = ["credential_from_headers"]

_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_SCHEMES = {"bearer": "bearer", "dpop": "dpop"}
_QUERY_NAMES = ("access_token", "token")


def credential_from_headers(
    headers: Iterable[tuple[bytes, bytes]],
    *,
    query_string: bytes = b"",
    allow_query_token: bool = False,
    method: str | None = None,
    url: str | None = None,
    client_ip: str | None = None,
) -> Credential | None:
    """The request's credential, or None when it carries none we understand.

    ``headers`` are raw ASGI header pairs (lower-case names). Raises ``auth.invalid_request`` for
    ambiguous or malformed presentations.
    """
    authorization: list[bytes] = []
    dpop: list[bytes] = []
    for name, value in headers:
        if name == b"authorization":
            authorization.append(value)
        elif name == b"dpop":
            dpop.append(value)
    if len(authorization) > 1:
        raise AuthError(
            ErrorCode.INVALID_REQUEST, "send exactly one Authorization header (got several)"
        )
    if len(dpop) > 1:
        raise AuthError(
            ErrorCode.INVALID_DPOP_PROOF, "Multiple DPoP proof JWT headers are not allowed."
        )
    proof = dpop[0].decode("latin-1") if dpop else None
    if authorization:
        raw = authorization[0].decode("latin-1").strip()
        scheme, _, token = raw.partition(" ")
        kind = _SCHEMES.get(scheme.lower())
        if kind is None:
            return None  # Basic, Negotiate…: not ours; the caller answers "missing token"
        token = token.strip()
        if not token:
            raise AuthError(ErrorCode.INVALID_REQUEST, f"the {scheme} scheme needs a token")
        if not _B64TOKEN.fullmatch(token):
            raise AuthError(
                ErrorCode.INVALID_REQUEST,
                "the token contains characters not allowed in a bearer token (RFC 6750 §2.1)",
            )
        return Credential(token, kind, proof, method, url, client_ip)
    if allow_query_token and query_string:
        found = [v for k, v in parse_qsl(query_string.decode("latin-1")) if k in _QUERY_NAMES]
        if len(found) > 1:
            raise AuthError(ErrorCode.INVALID_REQUEST, "send the token once in the query string")
        if found:
            return Credential(found[0], "query", proof, method, url, client_ip)
    return None
