"""Per-server RSA signing keys with Okta's ACTIVE/NEXT/EXPIRED rotation (okta-wire §3.1, §3.5).

Each authorization server has one ACTIVE key (signs), one NEXT key (published ahead of the
rotation so caches already hold it) and, after a rotation, one EXPIRED key (still published, so
tokens it signed keep verifying until they expire). ``/v1/keys`` answers with a ``max-age`` that
counts down to the next rotation and ``no-cache`` in the last hour, like Okta. Keys are made
lazily: RSA generation costs ~50 ms and most tests touch one or two servers only.
"""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from authgate.clock import Clock
from authgate.idp import ids

__all__ = ["KeyRing", "KeyStatus", "SigningKey", "b64url", "b64url_decode", "public_jwk"]

NO_CACHE_WINDOW = 3600  # seconds before a rotation when /keys stops being cacheable
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


class KeyStatus(StrEnum):
    ACTIVE = "ACTIVE"
    NEXT = "NEXT"
    EXPIRED = "EXPIRED"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url decode (no padding expected); raises ValueError on junk."""
    if not text or any(c in text for c in "+/= \n"):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def _uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def public_jwk(key: rsa.RSAPublicKey, kid: str) -> dict[str, Any]:
    """The JWKS entry in Okta's observed member order: kty, alg, kid, use, e, n."""
    numbers = key.public_numbers()
    return {
        "kty": "RSA",
        "alg": "RS256",
        "kid": kid,
        "use": "sig",
        "e": _uint(numbers.e),
        "n": _uint(numbers.n),
    }


@dataclass
class SigningKey:
    """One RSA-2048 key and its lifecycle status."""

    kid: str
    private: rsa.RSAPrivateKey
    status: KeyStatus

    @cached_property
    def _header_segment(self) -> str:
        # The header never changes for a key: encode it once, not per token.
        return b64url(orjson.dumps({"kid": self.kid, "alg": "RS256"}))

    @cached_property
    def _public(self) -> rsa.RSAPublicKey:
        return self.private.public_key()

    def sign(self, payload: dict[str, Any]) -> str:
        """Compact JWS, header ``{"kid","alg":"RS256"}`` in Okta's order, no ``typ``."""
        signing_input = f"{self._header_segment}.{b64url(orjson.dumps(payload))}".encode("ascii")
        signature = self.private.sign(signing_input, _PKCS1, _SHA256)
        return signing_input.decode("ascii") + "." + b64url(signature)

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        try:
            self._public.verify(signature, signing_input, _PKCS1, _SHA256)
        except InvalidSignature:
            return False
        return True


class KeyRing:
    """The keys of one authorization server, rotated every ``period`` seconds or on demand."""

    def __init__(self, clock: Clock, period: float) -> None:
        self._clock = clock
        self._period = period
        self._keys: list[SigningKey] = []
        self._rotated_at = 0.0
        self._lock = threading.Lock()

    def _new(self, status: KeyStatus) -> SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return SigningKey(ids.key_id(), private, status)

    def _ensure(self) -> None:
        # Called with the lock held: first use creates the pair, a passed deadline rotates.
        if not self._keys:
            self._keys = [self._new(KeyStatus.ACTIVE), self._new(KeyStatus.NEXT)]
            self._rotated_at = self._clock.time()
        elif self._clock.time() >= self._rotated_at + self._period:
            self._rotate_locked()

    def _rotate_locked(self) -> None:
        kept = [k for k in self._keys if k.status != KeyStatus.EXPIRED]
        for key in kept:
            key.status = KeyStatus.EXPIRED if key.status == KeyStatus.ACTIVE else KeyStatus.ACTIVE
        self._keys = [*kept, self._new(KeyStatus.NEXT)]
        self._rotated_at = self._clock.time()

    def rotate(self) -> SigningKey:
        """Rotate now (NEXT→ACTIVE, ACTIVE→EXPIRED, new NEXT); returns the new ACTIVE key."""
        with self._lock:
            self._ensure()
            self._rotate_locked()
            return self._active()

    def _active(self) -> SigningKey:
        return next(k for k in self._keys if k.status == KeyStatus.ACTIVE)

    def active(self) -> SigningKey:
        with self._lock:
            self._ensure()
            return self._active()

    def keys(self) -> list[SigningKey]:
        with self._lock:
            self._ensure()
            return list(self._keys)

    def find(self, kid: str) -> SigningKey | None:
        return next((k for k in self.keys() if k.kid == kid), None)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(k.private.public_key(), k.kid) for k in self.keys()]}

    def next_rotation(self) -> float:
        with self._lock:
            self._ensure()
            return self._rotated_at + self._period

    def cache_control(self) -> str:
        """``max-age`` counting down to the next rotation; ``no-cache`` close to it (§3.5)."""
        remaining = int(self.next_rotation() - self._clock.time())
        if remaining <= NO_CACHE_WINDOW:
            return "no-cache"
        return f"max-age={remaining}, must-revalidate"

    def status(self) -> list[dict[str, str]]:
        """kid and status of every key (admin API); never key material."""
        return [{"kid": k.kid, "status": str(k.status)} for k in self.keys()]
