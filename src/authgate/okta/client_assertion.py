"""Client assertions for ``client_secret_jwt`` / ``private_key_jwt`` (RFC 7523 §3, okta-wire §2.1).

Okta wants ``iss`` = ``sub`` = client id, ``aud`` = the exact URL of the endpoint being called,
``exp`` at most one hour ahead and a ``jti`` it burns on first use — even when it then answers
``use_dpop_nonce`` — so an assertion is made per request, never reused. Keys come from a PEM file,
a PEM in an environment variable, or a JWK (object or JSON text); the algorithm follows the key
(RS256 for RSA, ES256/384/512 by curve) unless configured, and ``kid`` is sent when known.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from authgate.clock import Clock, system_clock
from authgate.errors import ConfigError

__all__ = [
    "ASSERTION_TYPE",
    "ClientAssertion",
    "SigningKey",
    "load_signing_key",
    "secret_signing_key",
]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_LIFETIME = 3600  # Okta: "an expiration too far into the future" beyond one hour
_EC_ALGS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
_ALLOWED = {"RSA": ("RS256", "RS384", "RS512"), "EC": ("ES256", "ES384", "ES512")}


@dataclass(frozen=True)
class SigningKey:
    """A private key (or HMAC secret) ready for joserfc, its algorithm and optional ``kid``."""

    key: RSAKey | ECKey | OctKey = field(repr=False)
    alg: str
    kid: str | None = None

    def public_jwk(self) -> dict[str, Any]:
        if isinstance(self.key, OctKey):
            raise ValueError("an HMAC secret has no public half")
        jwk = dict(self.key.as_dict(private=False))
        jwk.pop("kid", None)
        return jwk

    def sign(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        header = {"alg": self.alg, **header}
        if self.kid and "jwk" not in header:
            header["kid"] = self.kid
        return jwt.encode(header, claims, self.key, algorithms=[self.alg])


def _from_crypto(private: object, kid: str | None, alg: str | None) -> SigningKey:
    if isinstance(private, rsa.RSAPrivateKey):
        if private.key_size < 2048:
            raise ConfigError("private key", "RSA keys must be at least 2048 bits")
        key: RSAKey | ECKey = RSAKey.import_key(private)
        family = "RSA"
        chosen = alg or "RS256"
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        curve = private.curve.name
        if curve not in _EC_ALGS:
            raise ConfigError("private key", f"EC curve {curve} is not supported by Okta")
        key = ECKey.import_key(private)
        family = "EC"
        chosen = alg or _EC_ALGS[curve]
    else:
        raise ConfigError("private key", "must be an RSA or EC private key")
    if chosen not in _ALLOWED[family]:
        raise ConfigError(
            "signing alg", f"{chosen} does not fit a {family} key ({', '.join(_ALLOWED[family])})"
        )
    return SigningKey(key, chosen, kid)


def _from_jwk(jwk: dict[str, Any], kid: str | None, alg: str | None) -> SigningKey:
    if "d" not in jwk:
        raise ConfigError("private key", "the JWK has no private part ('d')")
    kty = jwk.get("kty")
    try:
        key: RSAKey | ECKey = RSAKey.import_key(jwk) if kty == "RSA" else ECKey.import_key(jwk)
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError("private key", f"not a usable {kty} JWK ({type(exc).__name__})") from None
    return _from_crypto(key.private_key, kid or jwk.get("kid"), alg or jwk.get("alg"))


def _parse(text: str, source: str, kid: str | None, alg: str | None) -> SigningKey:
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            jwk = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            raise ConfigError(source, "looks like JSON but is not valid JSON") from None
        if not isinstance(jwk, dict):
            raise ConfigError(source, "a JWK must be a JSON object")
        return _from_jwk(jwk, kid, alg)
    try:
        private = serialization.load_pem_private_key(stripped.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(source, f"not an unencrypted PEM private key or JWK ({exc})") from None
    return _from_crypto(private, kid, alg)


def load_signing_key(
    *,
    pem_file: str | Path | None = None,
    pem_env: str | None = None,
    jwk: dict[str, Any] | str | None = None,
    kid: str | None = None,
    alg: str | None = None,
) -> SigningKey:
    """The private key from exactly one source: a file, an env var (PEM or JWK text), a JWK."""
    given = [s for s in (pem_file, pem_env, jwk) if s is not None]
    if len(given) != 1:
        raise ConfigError("private key", "give exactly one of a key file, a key env var or a JWK")
    if pem_file is not None:
        try:
            text = Path(pem_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                "private_key_file", f"cannot read {pem_file}: {exc.strerror}"
            ) from None
        return _parse(text, "private_key_file", kid, alg)
    if pem_env is not None:
        text = os.environ.get(pem_env, "")
        if not text.strip():
            raise ConfigError(
                "private_key_env", f"environment variable {pem_env} is empty or unset"
            )
        return _parse(text, f"${pem_env}", kid, alg)
    if isinstance(jwk, str):
        return _parse(jwk, "jwk", kid, alg)
    assert jwk is not None
    return _from_jwk(dict(jwk), kid, alg)


def secret_signing_key(secret: str, *, alg: str = "HS256") -> SigningKey:
    """The HMAC key of ``client_secret_jwt``; Okta refuses secrets under 32 characters."""
    if len(secret) < 32:
        raise ConfigError(
            "client_secret", "client_secret_jwt needs a secret of at least 32 characters"
        )
    if alg not in ("HS256", "HS384", "HS512"):
        raise ConfigError("signing alg", "client_secret_jwt uses HS256, HS384 or HS512")
    return SigningKey(OctKey.import_key(secret.encode()), alg)


class ClientAssertion:
    """Makes one fresh assertion per token request for ``client_id``."""

    def __init__(
        self,
        client_id: str,
        key: SigningKey,
        *,
        lifetime: int = 300,
        clock: Clock = system_clock,
    ) -> None:
        if not 0 < lifetime <= MAX_LIFETIME:
            raise ConfigError("assertion lifetime", f"must be in (0, {MAX_LIFETIME}] seconds")
        self.client_id, self.key, self.lifetime, self.clock = client_id, key, lifetime, clock

    def make(self, audience: str) -> str:
        """An assertion for the endpoint ``audience`` (its full URL, no query)."""
        now = int(self.clock.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": secrets.token_urlsafe(24),
        }
        return self.key.sign({"typ": "JWT"}, claims)
