"""Local users with salted password hashes (scrypt, RFC 7914; PBKDF2-HMAC-SHA256, RFC 8018 §5.2).

The break-glass backend: it keeps working when Okta is unreachable, so it is usually first in
``backends = local, okta``. Only hashes are configured; a plain password never touches disk.
Unknown users cost one hash too, so timing does not reveal which names are local.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authgate.aaa.backends.base import AuthResult, Outcome
from authgate.errors import ErrorCode

__all__ = ["LocalBackend", "LocalUser", "hash_password", "verify_password"]

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_PBKDF2_ITERATIONS = 600_000


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(
    password: str, *, scheme: str = "scrypt", iterations: int = _PBKDF2_ITERATIONS
) -> str:
    """``scrypt$N$r$p$salt$hash`` or ``pbkdf2_sha256$iterations$salt$hash`` (base64 parts).

    ``iterations`` (PBKDF2 only) is stored in the hash; lower it only for tests.
    """
    salt = secrets.token_bytes(16)
    if scheme == "scrypt":
        n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
        digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
        return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"
    if scheme == "pbkdf2_sha256":
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
        return f"pbkdf2_sha256${iterations}${_b64(salt)}${_b64(digest)}"
    raise ValueError(f"unknown password hash scheme {scheme!r}; use scrypt or pbkdf2_sha256")


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check of ``password`` against a :func:`hash_password` string."""
    parts = encoded.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            salt, want = base64.b64decode(parts[4]), base64.b64decode(parts[5])
            got = hashlib.scrypt(
                password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(want), maxmem=2**26
            )
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            salt, want = base64.b64decode(parts[2]), base64.b64decode(parts[3])
            got = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, int(parts[1]))
        else:
            return False
    except ValueError:
        return False
    return hmac.compare_digest(got, want)


@dataclass(frozen=True, slots=True)
class LocalUser:
    password_hash: str
    groups: frozenset[str] = frozenset()


class LocalBackend:
    """Users from configuration; hashing runs in a thread so the event loop keeps serving."""

    name = "local"

    def __init__(self, users: Mapping[str, LocalUser]) -> None:
        self.users = dict(users)
        self._dummy = hash_password(secrets.token_hex(8))

    async def authenticate(self, username: str, password: str) -> AuthResult:
        user = self.users.get(username)
        encoded = user.password_hash if user else self._dummy
        good = await asyncio.to_thread(verify_password, password, encoded)
        if user is None:
            return AuthResult(Outcome.NOT_FOUND, username)
        if not good:
            return AuthResult(Outcome.REJECT, username, code=ErrorCode.ACCESS_DENIED)
        return AuthResult(Outcome.ACCEPT, username, user.groups)

    async def answer_challenge(self, context: Any, response: str) -> AuthResult:
        return AuthResult(Outcome.REJECT, "", code=ErrorCode.INVALID_REQUEST)

    async def groups_for(self, username: str) -> AuthResult:
        user = self.users.get(username)
        if user is None:
            return AuthResult(Outcome.NOT_FOUND, username)
        return AuthResult(Outcome.ACCEPT, username, user.groups)

    async def aclose(self) -> None:
        return None
