"""HTTP answers for AuthError: status, RFC 6750 §3 challenge, ``Retry-After``, JSON body."""

from __future__ import annotations

import math

import orjson

from authgate.errors import AuthError

__all__ = ["error_body", "error_headers"]


def error_headers(error: AuthError, *, realm: str | None = None) -> list[tuple[bytes, bytes]]:
    """Raw ASGI headers for an error answer (no body headers)."""
    headers = [(b"cache-control", b"no-store")]
    if error.status in (401, 403) or error.code == "auth.invalid_request":
        headers.append((b"www-authenticate", error.www_authenticate(realm).encode("latin-1")))
    if error.retry_after is not None:
        headers.append((b"retry-after", str(max(1, math.ceil(error.retry_after))).encode()))
    return headers


def error_body(error: AuthError) -> bytes:
    return orjson.dumps(error.to_dict())
