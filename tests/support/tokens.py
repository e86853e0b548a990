"""Test token factory: keys for every algorithm family and Okta-shaped tokens, signed for real.

Signing is done here with ``cryptography`` directly (not through our verifier's code) so tests can
also build tokens no library would produce: duplicate members, odd encodings, forged headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISSUER = "https://dev-123.okta.com/oauth2/default"
AUDIENCE = "api://default"
NOW = 1_700_000_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(n: int, size: int) -> str:
    return b64(n.to_bytes(size, "big"))


@dataclass
class SigningKey:
    """A private key with its public JWK and a raw ``sign(alg, message)``."""

    kid: str
    alg: str
    private: Any
    jwk: dict[str, Any] = field(default_factory=dict)

    def sign(self, message: bytes, alg: str | None = None) -> bytes:
        alg = alg or self.alg
        if alg.startswith("HS"):
            return hmac.new(self.private, message, "sha" + alg[2:]).digest()
        if alg.startswith(("RS", "PS")):
            h = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[alg[2:]]
            pad = (
                padding.PKCS1v15()
                if alg.startswith("RS")
                else padding.PSS(padding.MGF1(h), h.digest_size)
            )
            return self.private.sign(message, pad, h)  # type: ignore[no-any-return]
        if alg.startswith("ES"):
            h = {"ES256": hashes.SHA256(), "ES384": hashes.SHA384()}[alg]
            size = {"ES256": 32, "ES384": 48}[alg]
            r, s = decode_dss_signature(self.private.sign(message, ec.ECDSA(h)))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        return self.private.sign(message)  # type: ignore[no-any-return]


def rsa_key(kid: str = "rsa-1", bits: int = 2048, alg: str = "RS256") -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    nums = private.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": alg,
        "n": _int(nums.n, (nums.n.bit_length() + 7) // 8),
        "e": _int(nums.e, 3),
    }
    return SigningKey(kid, alg, private, jwk)


def ec_key(kid: str = "ec-1", curve: str = "P-256") -> SigningKey:
    crv, size, alg = {
        "P-256": (ec.SECP256R1(), 32, "ES256"),
        "P-384": (ec.SECP384R1(), 48, "ES384"),
    }[curve]
    private = ec.generate_private_key(crv)
    nums = private.public_key().public_numbers()
    jwk = {"kty": "EC", "kid": kid, "use": "sig", "alg": alg, "crv": curve,
           "x": _int(nums.x, size), "y": _int(nums.y, size)}  # fmt: skip
    return SigningKey(kid, alg, private, jwk)


def ed_key(kid: str = "ed-1") -> SigningKey:
    private = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    jwk = {"kty": "OKP", "kid": kid, "use": "sig", "alg": "EdDSA", "crv": "Ed25519", "x": b64(raw)}
    return SigningKey(kid, "EdDSA", private, jwk)


def hs_key(kid: str = "hs-1", secret: bytes | None = None) -> SigningKey:
    secret = secret or secrets.token_bytes(32)
    jwk = {"kty": "oct", "kid": kid, "alg": "HS256", "k": b64(secret)}
    return SigningKey(kid, "HS256", secret, jwk)


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.jwk for k in keys]}


def okta_claims(now: int = NOW, **overrides: Any) -> dict[str, Any]:
    """An Okta custom-AS access token for a user (okta-wire §3.1), ~1.1 KB once signed."""
    claims: dict[str, Any] = {
        "ver": 1,
        "jti": "AT." + b64(secrets.token_bytes(32)),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "cid": "0oa1b2c3d4e5f6g7h8i9",
        "uid": "00u1b2c3d4e5f6g7h8i9",
        "scp": ["openid", "profile", "api:read", "api:write", "offline_access"],
        "sub": "alice@example.com",
        "groups": [f"Group-{i:02d}" for i in range(10)],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not ...}


def encode(
    key: SigningKey | None,
    claims: dict[str, Any] | bytes,
    *,
    alg: str | None = None,
    header: dict[str, Any] | bytes | None = None,
    kid: str | None = None,
    no_kid: bool = False,
) -> str:
    """Sign ``claims`` (dict, or raw JSON bytes) with ``key``; ``header`` overrides the default."""
    alg = alg or (key.alg if key else "none")
    if header is None:
        header = {"alg": alg, "typ": "JWT"}
        use_kid = kid or (key.kid if key else None)
        if use_kid is not None and not no_kid:
            header["kid"] = use_kid
    raw_header = header if isinstance(header, bytes) else json.dumps(header).encode()
    raw_claims = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    signing_input = f"{b64(raw_header)}.{b64(raw_claims)}".encode()
    signature = key.sign(signing_input, alg) if key else b""
    return f"{signing_input.decode()}.{b64(signature)}"


def sha256_b64(data: str) -> str:
    return b64(hashlib.sha256(data.encode()).digest())
