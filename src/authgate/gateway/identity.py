"""Identity forwarded to the upstream: ``X-Authgate-*`` headers and a signed assertion (RFC 7519).

Client-sent ``X-Authgate-*`` headers (and any configured identity header names) are stripped
before ours are added, so an upstream can trust them exactly as far as it trusts the network
path from the gateway. For upstreams that should not, an optional short-lived ES256 identity
assertion JWT (``X-Authgate-Assertion``) is signed with the gateway's key, published at
``/.well-known/jwks.json``. Values are printable ASCII: anything else is percent-encoded
(RFC 3986 §2.1), so a hostile ``sub`` cannot inject a header line. Header bytes are cached per
Principal (the verdict cache hands out the same object for the same token), and assertions
until half their lifetime, so the hot path rebuilds nothing.
"""

from __future__ import annotations

import base64
import secrets
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from authgate.clock import Clock, system_clock
from authgate.errors import ConfigError
from authgate.jose.dpop import jwk_thumbprint
from authgate.principal import Principal

__all__ = ["IdentityAssertion", "IdentityHeaders", "header_value"]

_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "%,")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def header_value(text: str, *, list_item: bool = False) -> bytes:
    """Printable ASCII for a header; spaces kept unless ``list_item`` (then ``,`` escaped too)."""
    if (
        text.isascii()
        and text.isprintable()
        and "%" not in text
        and not (list_item and ("," in text or " " in text))
    ):
        return text.encode("ascii")
    return quote(text, safe=_SAFE if list_item else _SAFE + " ,").encode("ascii")


class IdentityAssertion:
    """Signs short-lived ES256 identity assertions and publishes the public key as a JWKS."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        *,
        issuer: str,
        audience: str | None = None,
        ttl: float = 60.0,
        clock: Clock = system_clock,
        cache_size: int = 10_000,
    ) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise ConfigError("AUTHGATE_GATEWAY_ASSERTION_KEY_FILE", "the key must be EC P-256")
        numbers = key.public_key().public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64(numbers.x.to_bytes(32, "big")),
            "y": _b64(numbers.y.to_bytes(32, "big")),
        }
        self.kid = jwk_thumbprint(jwk)
        self.jwk = {**jwk, "kid": self.kid, "alg": "ES256", "use": "sig"}
        self._key = key
        self.issuer, self.audience, self.ttl, self.clock = issuer, audience, ttl, clock
        self._header = _b64(orjson.dumps({"alg": "ES256", "typ": "JWT", "kid": self.kid}))
        # Keyed by id(): a Principal may hold unhashable mappings, and the entry keeps the
        # object alive, so its id cannot be reused while the entry exists.
        self._cache: OrderedDict[int, tuple[Principal, bytes, float]] = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def generate(cls, **kwargs: Any) -> IdentityAssertion:
        return cls(ec.generate_private_key(ec.SECP256R1()), **kwargs)

    @classmethod
    def from_file(cls, path: Path, **kwargs: Any) -> IdentityAssertion:
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError("AUTHGATE_GATEWAY_ASSERTION_KEY_FILE", str(exc)) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ConfigError("AUTHGATE_GATEWAY_ASSERTION_KEY_FILE", "the key must be EC P-256")
        return cls(key, **kwargs)

    def jwks(self) -> bytes:
        return orjson.dumps({"keys": [self.jwk]})

    def claims(self, principal: Principal, now: float) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": principal.subject,
            "iat": int(now),
            "exp": int(now + self.ttl),
            "jti": secrets.token_urlsafe(12),
            "kind": str(principal.kind),
            "credential": principal.credential,
        }
        if self.audience:
            claims["aud"] = self.audience
        optional = {
            "client_id": principal.client_id,
            "token_id": principal.token_id,
            "token_iss": principal.issuer,
            "scope": " ".join(sorted(principal.scopes)) or None,
            "roles": sorted(principal.roles) or None,
            "workspaces": sorted(principal.workspaces) or None,
        }
        claims.update({k: v for k, v in optional.items() if v is not None})
        if principal.act:
            act: dict[str, Any] | None = None
            for actor in reversed(principal.act):
                hop: dict[str, Any] = {"sub": actor.subject}
                if actor.client_id:
                    hop["client_id"] = actor.client_id
                if act is not None:
                    hop["act"] = act
                act = hop
            claims["act"] = act
        return claims

    def sign(self, claims: dict[str, Any]) -> str:
        signing_input = f"{self._header}.{_b64(orjson.dumps(claims))}".encode()
        r, s = decode_dss_signature(self._key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return f"{signing_input.decode()}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def for_principal(self, principal: Principal) -> bytes:
        """A cached assertion for ``principal``, re-signed after half its lifetime."""
        now = self.clock.time()
        entry = self._cache.get(id(principal))
        if entry is not None and entry[0] is principal and now < entry[2]:
            return entry[1]
        token = self.sign(self.claims(principal, now)).encode("ascii")
        fresh_until = now + self.ttl / 2
        if principal.expires_at is not None:
            fresh_until = min(fresh_until, principal.expires_at)
        self._cache[id(principal)] = (principal, token, fresh_until)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return token


class IdentityHeaders:
    """Strips client-sent identity headers and builds ours for a Principal."""

    def __init__(
        self,
        names: dict[str, bytes],
        *,
        assertion: IdentityAssertion | None = None,
        cache_size: int = 10_000,
    ) -> None:
        self.names = names
        self.assertion = assertion
        # Every configured name plus the whole x-authgate- family is ours to set.
        self._reserved = frozenset(names.values())
        self._cache: OrderedDict[int, tuple[Principal, list[tuple[bytes, bytes]]]] = OrderedDict()
        self._cache_size = cache_size

    def is_reserved(self, name: bytes) -> bool:
        return name.startswith(b"x-authgate-") or name in self._reserved

    def strip(self, headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """``headers`` without any identity header a client may have sent."""
        return [(k, v) for k, v in headers if not self.is_reserved(k.lower())]

    def build(self, principal: Principal) -> list[tuple[bytes, bytes]]:
        """Our identity headers for ``principal`` (a fresh list the caller may extend)."""
        entry = self._cache.get(id(principal))
        if entry is None or entry[0] is not principal:
            entry = (principal, self._build(principal))
            self._cache[id(principal)] = entry
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        headers = list(entry[1])
        if self.assertion is not None:
            headers.append((self.names["assertion"], self.assertion.for_principal(principal)))
        return headers

    def _build(self, principal: Principal) -> list[tuple[bytes, bytes]]:
        n = self.names
        out = [
            (n["subject"], header_value(principal.subject)),
            (n["kind"], str(principal.kind).encode()),
        ]
        if principal.client_id:
            out.append((n["client_id"], header_value(principal.client_id)))
        out.append(
            (
                n["scopes"],
                b" ".join(header_value(s, list_item=True) for s in sorted(principal.scopes)),
            )
        )
        out.append(
            (
                n["roles"],
                b",".join(header_value(r, list_item=True) for r in sorted(principal.roles)),
            )
        )
        out.append(
            (
                n["workspaces"],
                b",".join(header_value(w, list_item=True) for w in sorted(principal.workspaces)),
            )
        )
        if principal.token_id:
            out.append((n["token_id"], header_value(principal.token_id)))
        return out
