"""DPoP proof checking at a resource server (RFC 9449 §4.3, §7.1) and JWK thumbprints (RFC 7638).

A DPoP-bound access token (``cnf.jkt``) is only as good as the proof sent with it: the proof must
be a ``dpop+jwt`` signed by the public key in its own ``jwk`` header (asymmetric algorithms
only), for this request's method and URL (``htm``/``htu``), fresh (``iat`` window), never seen
before (``jti`` replay cache), bound to this token (``ath``), and made with the key whose
thumbprint the token carries. Error texts follow Okta's (okta-wire §6) so clients see one dialect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import orjson

from authgate.authn.base import Credential
from authgate.clock import Clock, system_clock
from authgate.errors import AuthError, ErrorCode
from authgate.jose import algorithms
from authgate.jose.compact import decode_compact
from authgate.jose.keys import KeyImportError, VerificationKey
from authgate.principal import Principal

__all__ = ["DPoPVerifier", "MemoryReplayCache", "ReplayCache", "jwk_thumbprint", "normalize_htu"]

ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}
)
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 §3 SHA-256 thumbprint: required members only, sorted, no whitespace."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or any(not isinstance(jwk.get(m), str) for m in members):
        raise ValueError("JWK lacks the members a thumbprint needs")
    canonical = orjson.dumps({m: jwk[m] for m in members}, option=orjson.OPT_SORT_KEYS)
    return _b64(hashlib.sha256(canonical).digest())


def normalize_htu(url: str) -> str:
    """``htu`` comparison form (RFC 9449 §4.3 step 9): no query or fragment, lower-case host."""
    parts = urlsplit(url)
    netloc = parts.netloc.lower()
    default = {"http": ":80", "https": ":443"}.get(parts.scheme.lower())
    if default and netloc.endswith(default):
        netloc = netloc[: -len(default)]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", "", ""))


class ReplayCache(Protocol):
    """Remembers proof ``jti``s; ``first_use`` is atomic: True the first time only."""

    async def first_use(self, key: str, ttl: float) -> bool: ...


class MemoryReplayCache:
    """In-process replay cache (one instance); use a Redis-backed one across instances.

    Keys are ``"<jkt>:<jti>"``. Each proof key may hold at most ``per_key`` live entries, so one
    client flooding fresh proofs exhausts only its own quota — never the space other clients'
    proofs need (a full cache must fail closed, and would otherwise lock everyone out).
    """

    def __init__(
        self, clock: Clock = system_clock, max_entries: int = 100_000, per_key: int = 2_000
    ) -> None:
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._per_key: dict[str, int] = {}
        self._lock = threading.Lock()
        self._max = max_entries
        self._quota = per_key

    async def first_use(self, key: str, ttl: float) -> bool:
        now = self._clock.monotonic()
        group = key.partition(":")[0]
        with self._lock:
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            if len(self._seen) >= self._max or self._per_key.get(group, 0) >= self._quota:
                self._expire(now)
            if len(self._seen) >= self._max or self._per_key.get(group, 0) >= self._quota:
                return False  # fail closed, for this key's holder (or when truly full)
            self._seen[key] = now + ttl
            self._per_key[group] = self._per_key.get(group, 0) + 1
            return True

    def _expire(self, now: float) -> None:
        live = {k: v for k, v in self._seen.items() if v > now}
        counts: dict[str, int] = {}
        for k in live:
            g = k.partition(":")[0]
            counts[g] = counts.get(g, 0) + 1
        self._seen, self._per_key = live, counts


def _invalid(message: str) -> AuthError:
    return AuthError(ErrorCode.INVALID_DPOP_PROOF, message, status=401, scheme="DPoP")


class DPoPVerifier:
    """Checks DPoP proofs for bound tokens; plugs into ``JWTAuthenticator(dpop=...)``."""

    def __init__(
        self,
        *,
        replay: ReplayCache | None = None,
        clock: Clock = system_clock,
        max_age: float = 300.0,
        leeway: float = 5.0,
        algorithms_allowed: frozenset[str] = ASYMMETRIC,
    ) -> None:
        self.replay = replay or MemoryReplayCache(clock)
        self.clock = clock
        self.max_age = max_age
        self.leeway = leeway
        self.algorithms_allowed = algorithms_allowed & ASYMMETRIC

    async def check(self, credential: Credential, principal: Principal) -> str:
        """Validate the proof for ``credential``; return its key thumbprint (== ``cnf.jkt``)."""
        if not credential.dpop_proof:
            raise AuthError(
                ErrorCode.DPOP_REQUIRED,
                "The resource request requires a DPoP proof.",
                scheme="DPoP",
            )
        try:
            jws = decode_compact(credential.dpop_proof, max_size=8192)
        except AuthError:
            raise _invalid("The DPoP proof JWT cannot be parsed.") from None
        header, claims = jws.header, jws.payload
        if header.get("typ") != "dpop+jwt":
            raise _invalid("'typ' must be 'dpop+jwt' in the DPoP proof JWT.")
        alg = header.get("alg")
        jwk = header.get("jwk")
        if alg not in self.algorithms_allowed or not isinstance(jwk, dict):
            raise _invalid("The DPoP proof JWT signature algorithm is invalid.")
        try:
            key = VerificationKey.from_jwk(jwk)
            jkt = jwk_thumbprint(jwk)
        except (KeyImportError, ValueError):
            raise _invalid("The DPoP proof JWT is invalid.") from None
        if alg not in key.algorithms or not algorithms.verify(
            alg, key, jws.signing_input, jws.signature
        ):
            raise _invalid("The DPoP proof JWT signature is invalid.")
        self._check_claims(claims, credential)
        expected = principal.cnf.get("jkt") if principal.cnf else None
        # Bytes, not str: compare_digest raises TypeError on non-ASCII str (a 500 for a crafted claim).
        if not isinstance(expected, str) or not hmac.compare_digest(
            expected.encode(), jkt.encode()
        ):
            raise AuthError(
                ErrorCode.DPOP_BINDING_MISMATCH,
                "The access_token is not bound to the provided DPoP proof.",
                scheme="DPoP",
            )
        # Replay check last: a proof that fails any other check must not burn its jti.
        if not await self.replay.first_use(f"{jkt}:{claims['jti']}", self.max_age + self.leeway):
            raise _invalid("The DPoP proof JWT has already been used.")
        return jkt

    def _check_claims(self, claims: Mapping[str, Any], credential: Credential) -> None:
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 8 <= len(jti) <= 256:
            raise _invalid("'jti' claim in the DPoP proof JWT is invalid.")
        if claims.get("htm") != (credential.method or "").upper():
            raise _invalid("'htm' claim in the DPoP proof JWT is invalid.")
        htu = claims.get("htu")
        if not isinstance(htu, str) or credential.url is None:
            raise _invalid("'htu' claim in the DPoP proof JWT is invalid.")
        try:
            same = normalize_htu(htu) == normalize_htu(credential.url)
        except ValueError:  # e.g. "http://[::1" — urlsplit refuses it
            same = False
        if not same:
            raise _invalid("'htu' claim in the DPoP proof JWT is invalid.")
        iat = claims.get("iat")
        if not isinstance(iat, int | float) or isinstance(iat, bool) or iat != iat:
            raise _invalid("'iat' claim in the DPoP proof JWT is invalid.")
        now = self.clock.time()
        if iat > now + self.leeway:
            raise _invalid("The DPoP proof JWT is issued in the future.")
        if iat < now - self.max_age:
            age = "five minutes" if self.max_age == 300 else f"{self.max_age:g} seconds"
            raise _invalid(f"The DPoP proof JWT is issued more than {age} in the past.")
        ath = claims.get("ath")
        want = _b64(hashlib.sha256(credential.token.encode()).digest())
        if not isinstance(ath, str) or not hmac.compare_digest(ath.encode(), want.encode()):
            raise _invalid(
                "'ath' claim in the DPoP proof does not match the presented access_token."
            )
