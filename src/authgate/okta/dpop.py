"""Client-side DPoP (RFC 9449 §4-§8): proofs for token and resource requests, nonce memory.

Okta binds tokens of apps with "Require DPoP header in token requests" to the proof key
(``cnf.jkt``) and asks for a server nonce first (okta-wire §6): the token endpoint answers
``400 use_dpop_nonce`` with a ``dpop-nonce`` header, and the client must repeat the request with
a fresh proof carrying that nonce — and, because Okta burnt the first client assertion's ``jti``,
a fresh client assertion too (the token client rebuilds the whole request for that reason).
Resource calls send ``Authorization: DPoP <token>`` plus a proof whose ``ath`` hashes the token.

The key is generated (EC P-256 by default: small, fast) or configured; keep it separate from the
client-authentication key, as Okta recommends.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import ECKey, RSAKey

from authgate.clock import Clock, system_clock
from authgate.okta.client_assertion import SigningKey, load_signing_key

__all__ = ["DPoPSigner", "access_token_hash", "htu", "is_nonce_challenge"]


def access_token_hash(token: str) -> str:
    """``ath`` (RFC 9449 §4.2): base64url(SHA-256(ASCII(token))), unpadded."""
    digest = hashlib.sha256(token.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def htu(url: str | httpx.URL) -> str:
    """The ``htu`` value: the request URL without query and fragment (RFC 9449 §4.2)."""
    parts = urlsplit(str(url))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def is_nonce_challenge(response: httpx.Response) -> str | None:
    """The new nonce when ``response`` is a ``use_dpop_nonce`` challenge (token or resource)."""
    nonce: str | None = response.headers.get("dpop-nonce")
    if nonce is None or response.status_code not in (400, 401):
        return None
    if "use_dpop_nonce" in response.headers.get("www-authenticate", ""):
        return nonce
    if response.status_code == 400 and b"use_dpop_nonce" in response.content:
        return nonce
    return None


class DPoPSigner:
    """One DPoP key and the last nonce seen per origin (thread-safe)."""

    def __init__(self, key: SigningKey, *, clock: Clock = system_clock) -> None:
        if key.alg.startswith("HS"):
            raise ValueError("DPoP needs an asymmetric key")
        self.key = key
        self.clock = clock
        self.jwk = key.public_jwk()
        self.jkt = _thumbprint(self.jwk)
        self._nonces: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def generate(cls, *, alg: str = "ES256", clock: Clock = system_clock) -> DPoPSigner:
        """A fresh in-memory key: ES256 (P-256) by default, RS256 (3072-bit) on request."""
        if alg == "ES256":
            key = SigningKey(ECKey.import_key(ec.generate_private_key(ec.SECP256R1())), "ES256")
        elif alg == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
            key = SigningKey(RSAKey.import_key(private), "RS256")
        else:
            raise ValueError("generated DPoP keys are ES256 or RS256")
        return cls(key, clock=clock)

    @classmethod
    def from_file(cls, path: str | Path, *, clock: Clock = system_clock) -> DPoPSigner:
        return cls(load_signing_key(pem_file=path), clock=clock)

    def _origin(self, url: str | httpx.URL) -> str:
        parts = urlsplit(str(url))
        return f"{parts.scheme}://{parts.netloc}".lower()

    def remember_nonce(self, url: str | httpx.URL, nonce: str) -> None:
        with self._lock:
            self._nonces[self._origin(url)] = nonce

    def nonce_for(self, url: str | httpx.URL) -> str | None:
        with self._lock:
            return self._nonces.get(self._origin(url))

    def proof(self, method: str, url: str | httpx.URL, *, access_token: str | None = None) -> str:
        """A new proof (new ``jti``) for one request; the remembered nonce is included."""
        claims: dict[str, Any] = {
            "htm": method.upper(),
            "htu": htu(url),
            "iat": int(self.clock.time()),
            "jti": secrets.token_urlsafe(24),
        }
        nonce = self.nonce_for(url)
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        return self.key.sign({"typ": "dpop+jwt", "jwk": self.jwk}, claims)


def _thumbprint(jwk: dict[str, Any]) -> str:
    from joserfc.jwk import thumbprint

    return thumbprint(jwk)
