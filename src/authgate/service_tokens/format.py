"""Service token wire format: ``ag_<id>_<secret><checksum>``, recognisable and self-checking.

Why this shape: the ``ag_`` prefix lets secret scanners (GitHub push protection, trufflehog)
match leaked tokens with one regex; the id travels in clear so the store looks the token up by
primary key and compares only a hash of the secret; the CRC-32 checksum rejects typos and
random strings before any database lookup (it detects accidents, not attacks — the 256-bit
secret is what resists guessing).

Layout: ``ag_`` + id (``[a-z0-9.-]``, no underscore so the split is unambiguous) + ``_`` +
43 base62 characters of secret (32 random bytes, 62^43 > 2^256) + 6 base62 characters of
``crc32(everything before the checksum)``.
"""

from __future__ import annotations

import re
import secrets
import zlib
from dataclasses import dataclass

from authgate.errors import AuthError, ErrorCode

__all__ = [
    "BOOTSTRAP_PREFIX",
    "MAX_TOKEN_LENGTH",
    "PREFIX",
    "ParsedToken",
    "generate_bootstrap_token",
    "generate_id",
    "generate_token",
    "identity_hint",
    "parse_token",
    "validate_id",
]

PREFIX = "ag_"
BOOTSTRAP_PREFIX = "agb_"
SECRET_LENGTH = 43
CHECKSUM_LENGTH = 6
MAX_ID_LENGTH = 64
MAX_TOKEN_LENGTH = len(PREFIX) + MAX_ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,62}[a-z0-9])?")
_BASE62 = re.compile(r"[0-9A-Za-z]+")
_INVALID = "service token is malformed or mistyped (prefix, length or checksum is wrong)"


@dataclass(frozen=True, slots=True)
class ParsedToken:
    """A token whose shape and checksum are right; says nothing yet about whether it is valid."""

    token_id: str
    secret: str

    def __repr__(self) -> str:  # never let a secret reach a log through repr()
        return f"ParsedToken(token_id={self.token_id!r}, secret=<redacted>)"


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        digits.append(_ALPHABET[rem])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def validate_id(token_id: str) -> str:
    """Return ``token_id`` if it is a legal id, else raise ValueError with the rule."""
    if not _ID.fullmatch(token_id):
        raise ValueError(
            f"token id {token_id!r} must be 1-64 characters of a-z, 0-9, '.' or '-', "
            "starting and ending with a letter or digit"
        )
    return token_id


def generate_id() -> str:
    """A random id for callers that do not pick one (``tok-`` + 50 bits, lowercase)."""
    return "tok-" + "".join(secrets.choice(_ALPHABET[:36].lower()) for _ in range(10))


def generate_token(token_id: str) -> str:
    """A fresh token for ``token_id``: 256 random bits of secret plus checksum."""
    validate_id(token_id)
    secret = _base62(int.from_bytes(secrets.token_bytes(32), "big"), SECRET_LENGTH)
    body = f"{PREFIX}{token_id}_{secret}"
    return body + _checksum(body)


def generate_bootstrap_token() -> str:
    """A value for ``AUTHGATE_BOOTSTRAP_TOKEN``: ``agb_`` + 256 random bits, scanner-findable."""
    return BOOTSTRAP_PREFIX + _base62(int.from_bytes(secrets.token_bytes(32), "big"), 43)


def parse_token(token: str) -> ParsedToken:
    """Split and checksum-verify a token; raise ``auth.invalid_service_token`` on any defect.

    Pure and cheap (no I/O), so authenticators can refuse garbage before touching the store.
    """
    if not token.startswith(PREFIX) or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise AuthError(ErrorCode.INVALID_SERVICE_TOKEN, _INVALID)
    body, checksum = token[:-CHECKSUM_LENGTH], token[-CHECKSUM_LENGTH:]
    token_id, sep, secret = body[len(PREFIX) :].rpartition("_")
    if (
        not sep
        or len(secret) != SECRET_LENGTH
        or not _ID.fullmatch(token_id)
        or not _BASE62.fullmatch(secret + checksum)
        or _checksum(body) != checksum
    ):
        raise AuthError(ErrorCode.INVALID_SERVICE_TOKEN, _INVALID)
    return ParsedToken(token_id, secret)


def identity_hint(token: str) -> str | None:
    """The token id a presented service token claims (unverified), for failure rate limiting."""
    if token.startswith(BOOTSTRAP_PREFIX):
        return "bootstrap"
    if not token.startswith(PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    token_id = token[len(PREFIX) :].rpartition("_")[0]
    return token_id if _ID.fullmatch(token_id) else None
