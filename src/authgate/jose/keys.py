"""Verification keys from JWK/JWKS (RFC 7517 §4-5), PEM/DER and shared secrets, checked on import.

Every key becomes a parsed ``cryptography`` object (or raw bytes for ``oct``) together with the
algorithms it may verify, decided here and only here. Weak or ambiguous material is refused
with a message that says why: RSA under 2048 bits or with a ROCA modulus, curves other than
P-256/P-384/Ed25519, HMAC secrets shorter than the hash, private members in a JWKS, a public
key offered as an HMAC secret (PyJWT CVE-2022-29217). A JWKS is forgiving per key — one bad
entry is skipped and recorded — because one odd key must not take an issuer offline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from authgate.jose import algorithms as algs
from authgate.jose.compact import b64url_decode

__all__ = ["KeyImportError", "KeySet", "VerificationKey"]

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | Ed25519PublicKey
MAX_KID_LENGTH = 256

_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth")
_CURVES: dict[str, ec.EllipticCurve] = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}
_SECRET_LOOKS_LIKE = (b"-----BEGIN", b"ssh-rsa ", b"ssh-ed25519 ", b"ecdsa-sha2-")


class KeyImportError(ValueError):
    """Key material was refused; the message says why and what would be accepted."""


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key (or HMAC secret) and the JWS algorithms it may verify."""

    kid: str | None
    kty: str
    algorithms: frozenset[str]
    key: PublicKey | bytes = field(repr=False)
    use: str | None = None
    _verifiers: dict[str, algs.Verifier] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if isinstance(self.key, rsa.RSAPublicKey):
            _check_rsa(self.key, self.kid)  # every construction path, not only the from_* ones
        usable = algs.algorithms_for_key(self.kty, self.key)
        if not self.algorithms or not self.algorithms <= usable:
            raise KeyImportError(
                f"key kid={self.kid!r}: algorithms {sorted(self.algorithms)} are not usable "
                f"with this {self.kty} key (usable: {sorted(usable)})"
            )
        for alg in self.algorithms:
            self._verifiers[alg] = algs.make_verifier(alg, self.key)

    def verifier(self, alg: str) -> algs.Verifier | None:
        """The prebuilt verify closure for ``alg``, or None if this key may not verify it."""
        return self._verifiers.get(alg)

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> VerificationKey:
        """Import one public JWK (RFC 7517 §4); ``alg`` narrows, ``use``/``key_ops`` must allow verify."""
        if not isinstance(jwk, Mapping):
            raise KeyImportError("a JWK must be a JSON object")
        kid = jwk.get("kid")
        if kid is not None and (not isinstance(kid, str) or len(kid) > MAX_KID_LENGTH):
            raise KeyImportError(f"JWK kid must be a string of at most {MAX_KID_LENGTH} chars")
        kty = jwk.get("kty")
        use = jwk.get("use")
        if use is not None and use != "sig":
            raise KeyImportError(f"JWK kid={kid!r} has use={_short(use)}; only 'sig' keys verify")
        ops = jwk.get("key_ops")
        if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
            raise KeyImportError(f"JWK kid={kid!r} key_ops {_short(ops)} does not include 'verify'")
        present = [m for m in _PRIVATE_MEMBERS if m in jwk]
        if present:
            raise KeyImportError(
                f"JWK kid={kid!r} carries private key members {present}; "
                "publish only the public key"
            )
        key: PublicKey | bytes
        if kty == "RSA":
            key = _rsa_from_jwk(jwk)
        elif kty == "EC":
            key = _ec_from_jwk(jwk)
        elif kty == "OKP":
            key = _okp_from_jwk(jwk)
        elif kty == "oct":
            key = _jwk_bytes(jwk, "k")
        else:
            raise KeyImportError(f"JWK kty {_short(kty)} is not supported (RSA, EC, OKP, oct)")
        usable = _usable(kty, key, kid)
        alg = jwk.get("alg")
        if alg is not None:
            if not isinstance(alg, str) or alg not in usable:
                raise KeyImportError(
                    f"JWK kid={kid!r} declares alg {_short(alg)}, which this {kty} key cannot "
                    f"verify (usable: {sorted(usable)})"
                )
            usable = frozenset({alg})
        return cls(kid, kty, usable, key, use)

    @classmethod
    def from_pem(cls, data: bytes | str, *, kid: str | None = None) -> VerificationKey:
        """Import a public key or certificate, PEM or DER; private keys are refused.

        A certificate only carries the key here: its dates and chain are not checked, because
        pinning a configured key is the point, not PKI.
        """
        raw = data.encode() if isinstance(data, str) else bytes(data)
        if b"PRIVATE KEY" in raw:
            raise KeyImportError("this is a private key; configure the public key instead")
        try:
            if b"-----BEGIN CERTIFICATE" in raw:
                loaded: object = x509.load_pem_x509_certificate(raw).public_key()
            elif b"-----BEGIN" in raw:
                loaded = serialization.load_pem_public_key(raw)
            else:
                loaded = _load_der(raw)
        except ValueError as exc:
            raise KeyImportError(f"not a PEM/DER public key or certificate: {exc}") from None
        if isinstance(loaded, rsa.RSAPublicKey):
            _check_rsa(loaded, kid)
            kty = "RSA"
        elif isinstance(loaded, ec.EllipticCurvePublicKey):
            kty = "EC"
        elif isinstance(loaded, Ed25519PublicKey):
            kty = "OKP"
        else:
            raise KeyImportError(f"{type(loaded).__name__} keys are not supported")
        return cls(kid, kty, _usable(kty, loaded, kid), loaded)

    @classmethod
    def from_secret(cls, secret: bytes | str, *, kid: str | None = None) -> VerificationKey:
        """Import an HMAC secret (RFC 7518 §3.2): at least 32 bytes, never a public key."""
        raw = secret.encode() if isinstance(secret, str) else bytes(secret)
        if raw.lstrip().startswith(_SECRET_LOOKS_LIKE) or _is_der_key(raw) or _is_jwk(raw):
            raise KeyImportError(
                "this secret looks like a public key, certificate or JWK; an asymmetric key "
                "must never be used as an HMAC secret (use from_pem/from_jwk instead)"
            )
        return cls(kid, "oct", _usable("oct", raw, kid), raw)


@dataclass(frozen=True, slots=True)
class KeySet:
    """The keys of one issuer, looked up by ``kid`` in O(1); refused JWKS entries in ``skipped``."""

    keys: tuple[VerificationKey, ...]
    skipped: tuple[tuple[str | None, str], ...] = ()
    _by_kid: dict[str, VerificationKey] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _by_alg: dict[str, tuple[VerificationKey, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        for key in self.keys:
            if key.kid is not None:
                if key.kid in self._by_kid:
                    raise KeyImportError(f"two keys share kid {key.kid!r}")
                self._by_kid[key.kid] = key
            for alg in key.algorithms:
                self._by_alg[alg] = (*self._by_alg.get(alg, ()), key)

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> KeySet:
        """Import a JWK Set (RFC 7517 §5), skipping (and recording) every entry we refuse."""
        entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(entries, list):
            raise KeyImportError('not a JWKS: expected a JSON object with a "keys" array')
        imported: list[VerificationKey] = []
        skipped: list[tuple[str | None, str]] = []
        kid_counts: dict[str, int] = {}
        for entry in entries:
            kid = entry.get("kid") if isinstance(entry, Mapping) else None
            kid = kid if isinstance(kid, str) else None
            if kid is not None:
                kid_counts[kid] = kid_counts.get(kid, 0) + 1
            try:
                imported.append(VerificationKey.from_jwk(entry))
            except KeyImportError as exc:
                skipped.append((kid, str(exc)))
        # A published JWKS must not hold secrets; next to public keys an oct key is a leak.
        mixed = any(k.kty == "oct" for k in imported) and any(k.kty != "oct" for k in imported)
        kept: list[VerificationKey] = []
        for key in imported:
            # A kid listed twice is ambiguous even when only one of the entries is importable.
            if key.kid is not None and kid_counts[key.kid] > 1:
                skipped.append((key.kid, "duplicate kid: ambiguous, every key with it refused"))
            elif mixed and key.kty == "oct":
                skipped.append((key.kid, "symmetric key in a JWKS of public keys: refused"))
            else:
                kept.append(key)
        return cls(tuple(kept), tuple(skipped))

    def get(self, kid: str) -> VerificationKey | None:
        """The key with this ``kid``, or None."""
        return self._by_kid.get(kid)

    def only_key(self) -> VerificationKey | None:
        """The single key if the set holds exactly one, else None."""
        return self.keys[0] if len(self.keys) == 1 else None

    def usable_for(self, alg: str) -> tuple[VerificationKey, ...]:
        """Keys that may verify ``alg``."""
        return self._by_alg.get(alg, ())

    @property
    def kids(self) -> frozenset[str]:
        """Every ``kid`` in the set."""
        return frozenset(self._by_kid)


def _short(value: object) -> str:
    """A JWKS value for an error message: repr-escaped and bounded (JWKS content is remote)."""
    return repr(value)[:80]


def _usable(kty: str, key: object, kid: str | None) -> frozenset[str]:
    if isinstance(key, rsa.RSAPublicKey):
        _check_rsa(key, kid)
    usable = algs.algorithms_for_key(kty, key)
    if usable:
        return usable
    if kty == "oct" and isinstance(key, bytes):
        raise KeyImportError(
            f"HMAC key kid={kid!r} is {len(key)} bytes; at least 32 bytes are required "
            "(48 for HS384, 64 for HS512)"
        )
    if isinstance(key, ec.EllipticCurvePublicKey):
        raise KeyImportError(f"EC curve {key.curve.name} is not supported (P-256, P-384)")
    raise KeyImportError(f"key kid={kid!r} cannot verify any supported algorithm")


def _check_rsa(key: rsa.RSAPublicKey, kid: str | None) -> None:
    numbers = key.public_numbers()
    if key.key_size < algs.MIN_RSA_BITS:
        raise KeyImportError(
            f"RSA key kid={kid!r} has {key.key_size} bits; at least {algs.MIN_RSA_BITS} required"
        )
    if numbers.e < 3 or numbers.e % 2 == 0:
        raise KeyImportError(f"RSA key kid={kid!r} has an invalid public exponent {numbers.e}")
    if _is_roca_modulus(numbers.n):
        raise KeyImportError(
            f"RSA key kid={kid!r} was generated by a chip with the ROCA flaw (CVE-2017-15361); "
            "its private key can be recovered — replace it"
        )


def _jwk_bytes(jwk: Mapping[str, Any], member: str) -> bytes:
    value = jwk.get(member)
    if not isinstance(value, str):
        raise KeyImportError(f"JWK member {member!r} is missing or not a string")
    try:
        return b64url_decode(value.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise KeyImportError(f"JWK member {member!r} is not canonical base64url") from None


def _rsa_from_jwk(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    n = int.from_bytes(_jwk_bytes(jwk, "n"), "big")
    e = int.from_bytes(_jwk_bytes(jwk, "e"), "big")
    if e < 3 or e % 2 == 0 or n < 3:
        raise KeyImportError(f"RSA JWK kid={jwk.get('kid')!r} has an invalid modulus or exponent")
    try:
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        raise KeyImportError(f"invalid RSA JWK: {exc}") from None


def _ec_from_jwk(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    crv = jwk.get("crv")
    curve = _CURVES.get(crv) if isinstance(crv, str) else None
    if curve is None:
        raise KeyImportError(f"EC curve {crv!r} is not supported (P-256, P-384)")
    size = (curve.key_size + 7) // 8
    x, y = _jwk_bytes(jwk, "x"), _jwk_bytes(jwk, "y")
    if len(x) != size or len(y) != size:
        raise KeyImportError(f"EC JWK coordinates must be {size} bytes each for {crv}")
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve
    )
    try:
        return numbers.public_key()
    except ValueError:
        raise KeyImportError(f"EC JWK point is not on curve {crv}") from None


def _okp_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    if jwk.get("crv") != "Ed25519":
        raise KeyImportError(f"OKP curve {jwk.get('crv')!r} is not supported (Ed25519)")
    x = _jwk_bytes(jwk, "x")
    if len(x) != 32:
        raise KeyImportError("Ed25519 JWK x must be 32 bytes")
    return Ed25519PublicKey.from_public_bytes(x)


def _load_der(raw: bytes) -> object:
    try:
        return serialization.load_der_public_key(raw)
    except ValueError:
        return x509.load_der_x509_certificate(raw).public_key()


def _is_der_key(raw: bytes) -> bool:
    if not raw.startswith(b"\x30"):
        return False
    try:
        _load_der(raw)
    except ValueError:
        return False
    return True


def _is_jwk(raw: bytes) -> bool:
    if not raw.lstrip().startswith(b"{"):
        return False
    try:
        return isinstance(orjson.loads(raw), dict)
    except orjson.JSONDecodeError:
        return False


# ROCA (CVE-2017-15361): moduli from the flawed generator are, modulo each small prime p,
# a power of 65537. One prime where n mod p is outside that subgroup clears the key.
_ROCA_PRIMES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73,
                79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157,
                163, 167)  # fmt: skip


def _powers_of_65537(p: int) -> frozenset[int]:
    seen, value = {1}, 65537 % p
    while value not in seen:
        seen.add(value)
        value = value * 65537 % p
    return frozenset(seen)


_ROCA_SUBGROUPS = tuple((p, _powers_of_65537(p)) for p in _ROCA_PRIMES)


def _is_roca_modulus(n: int) -> bool:
    return all(n % p in group for p, group in _ROCA_SUBGROUPS)
