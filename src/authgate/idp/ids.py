"""Okta-shaped identifiers (okta-wire.md §8.12): 3-char type prefix + 17 alphanumerics.

Okta ids tell their type by prefix (``00u`` user, ``00g`` group, ``0oa`` app, ``aus`` custom
authorization server, ``oar`` refresh token, ``oae`` error id, ``req`` request id). Code under test
sometimes dispatches on them, so the dev server mints ids of the same shape. ``stable_id`` derives
an id from a seed so the built-in demo config prints the same ids on every run.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import string

__all__ = [
    "APP",
    "AUTH_SERVER",
    "ERROR",
    "GROUP",
    "ORG",
    "REFRESH_TOKEN",
    "REQUEST",
    "USER",
    "error_id",
    "jti",
    "key_id",
    "new_id",
    "opaque_token",
    "request_id",
    "stable_id",
]

USER = "00u"
GROUP = "00g"
APP = "0oa"
AUTH_SERVER = "aus"
ORG = "00o"
REFRESH_TOKEN = "oar"
ERROR = "oae"
REQUEST = "req"

_ALPHABET = string.ascii_letters + string.digits
_BODY = 17
# Uniform alphanumerics from random bytes in one C call: bytes >= 248 (= 4 × 62) are dropped
# so that ``byte % 62`` is unbiased; the rest map onto the alphabet. One id per request (the
# X-Okta-Request-Id) made this hot: ``secrets.choice`` per character cost ~70 µs an id.
_KEEP = 4 * len(_ALPHABET)
_TO_ALPHABET = bytes(_ALPHABET.encode()[b % len(_ALPHABET)] for b in range(256))
_DROP = bytes(range(_KEEP, 256))


def _alphanumerics(length: int) -> str:
    out = b""
    while len(out) < length:
        # 25 % headroom: with 3 % of bytes dropped a second round is almost never needed.
        out += os.urandom(length + length // 4 + 2).translate(_TO_ALPHABET, _DROP)
    return out[:length].decode("ascii")


def new_id(prefix: str, length: int = _BODY) -> str:
    """A random id: ``prefix`` + ``length`` alphanumerics (20 chars by default, like Okta)."""
    return prefix + _alphanumerics(length)


def stable_id(prefix: str, seed: str, length: int = _BODY) -> str:
    """A deterministic id for ``seed`` (demo objects keep their ids across restarts)."""
    number = int.from_bytes(hashlib.sha256(f"{prefix}:{seed}".encode()).digest(), "big")
    chars: list[str] = []
    for _ in range(length):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return prefix + "".join(chars)


def error_id() -> str:
    """An ``errorId`` for an Okta error object: ``oae`` + 22 chars (25 in all)."""
    return new_id(ERROR, 22)


def request_id() -> str:
    """An ``X-Okta-Request-Id`` value: ``req`` + 23 chars."""
    return new_id(REQUEST, 23)


def jti(prefix: str) -> str:
    """A token id: ``AT.``/``ID.`` + 43-char base64url (okta-wire §3.2)."""
    return prefix + secrets.token_urlsafe(32)


def opaque_token() -> str:
    """An opaque token value such as a refresh token or an authorization code (43 chars)."""
    return secrets.token_urlsafe(32)


def key_id() -> str:
    """A signing-key ``kid``: 43-char base64url like Okta's."""
    return secrets.token_urlsafe(32)
