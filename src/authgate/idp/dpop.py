"""Server-side DPoP proof validation (RFC 9449 §4.3) with Okta's error texts (okta-wire §6).

Used by the token endpoint and, through :func:`validate_proof`, by the Management API for
``Authorization: DPoP`` calls. Failures raise :class:`DPoPProofError` (``invalid_dpop_proof``,
400) or :class:`DPoPNonceRequired` (``use_dpop_nonce``, 400 + ``dpop-nonce`` header).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from joserfc.errors import JoseError
from joserfc.jwk import thumbprint
from starlette.responses import Response

from authgate.errors import AuthError, ErrorCode
from authgate.idp.errors import oauth_error
from authgate.idp.jwt_util import ASYMMETRIC_ALGS, parse_compact, verify_jwk
from authgate.idp.keys import b64url
from authgate.idp.state import IdP

__all__ = [
    "DPoPNonceRequired",
    "DPoPProofError",
    "access_token_hash",
    "proof_from_headers",
    "validate_proof",
]

MAX_AGE = 300  # "issued more than five minutes in the past"
FUTURE_LEEWAY = 5


class DPoPProofError(AuthError):
    """``400 invalid_dpop_proof`` with Okta's ``error_description`` in ``.description``."""

    error = "invalid_dpop_proof"

    def __init__(self, description: str) -> None:
        super().__init__(ErrorCode.INVALID_DPOP_PROOF, description, status=400, scheme="DPoP")
        self.description = description

    def response(self) -> Response:
        return oauth_error(self.status, self.error, self.description)


class DPoPNonceRequired(AuthError):
    """``400 use_dpop_nonce``: retry with ``nonce`` (sent in the ``dpop-nonce`` header)."""

    error = "use_dpop_nonce"
    description = "Authorization server requires nonce in DPoP proof."

    def __init__(self, nonce: str) -> None:
        super().__init__(ErrorCode.USE_DPOP_NONCE, self.description, status=400, scheme="DPoP")
        self.nonce = nonce

    def response(self) -> Response:
        return oauth_error(self.status, self.error, self.description, {"dpop-nonce": self.nonce})


def access_token_hash(access_token: str) -> str:
    """The ``ath`` value: base64url(SHA-256(token))."""
    return b64url(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def proof_from_headers(values: Sequence[str]) -> str:
    """The single ``DPoP`` header value; Okta refuses none and several."""
    if not values or not values[0].strip():
        raise DPoPProofError("The DPoP proof JWT header is missing.")
    if len(values) > 1:
        raise DPoPProofError("Multiple DPoP proof JWT headers are not allowed.")
    return values[0].strip()


def _normal_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def validate_proof(
    proof: str,
    *,
    method: str,
    url: str,
    access_token: str | None = None,
    nonce: bool | str | None = None,
    idp: IdP,
) -> str:
    """Check a DPoP proof and burn its ``jti``; returns the key's RFC 7638 thumbprint (``jkt``).

    ``nonce``: None = no nonce required; True = one of the IdP's current nonces; a string =
    exactly that value. ``access_token`` given = the proof must carry its ``ath``.
    """
    try:
        header, claims = parse_compact(proof)
    except ValueError as exc:
        raise DPoPProofError("The DPoP proof JWT cannot be parsed.") from exc
    if header.get("typ") != "dpop+jwt":
        raise DPoPProofError("'typ' must be 'dpop+jwt' in the DPoP proof JWT.")
    alg = header.get("alg")
    if alg not in ASYMMETRIC_ALGS:
        raise DPoPProofError("The DPoP proof JWT signature algorithm is invalid.")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or "d" in jwk or jwk.get("kty") not in ("RSA", "EC"):
        raise DPoPProofError("The DPoP proof JWT is invalid.")
    if not verify_jwk(proof, jwk, str(alg)):
        raise DPoPProofError("The DPoP proof JWT signature is invalid.")
    _check_claims(claims, method=method, url=url, access_token=access_token, idp=idp)
    _check_nonce(claims, nonce, idp)
    iat = _number(claims, "iat") or 0.0
    if not idp.burn("dpop", str(claims["jti"]), iat + MAX_AGE + FUTURE_LEEWAY):
        raise DPoPProofError("The DPoP proof JWT has already been used.")
    try:
        return thumbprint(jwk)
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise DPoPProofError("The DPoP proof JWT is invalid.") from exc


def _check_claims(
    claims: dict[str, Any], *, method: str, url: str, access_token: str | None, idp: IdP
) -> None:
    if claims.get("htm") != method.upper():
        raise DPoPProofError("'htm' claim in the DPoP proof JWT is invalid.")
    htu = claims.get("htu")
    if not isinstance(htu, str) or _normal_url(htu) != _normal_url(url):
        raise DPoPProofError("'htu' claim in the DPoP proof JWT is invalid.")
    iat = _number(claims, "iat")
    if iat is None:
        raise DPoPProofError("'iat' claim in the DPoP proof JWT is invalid.")
    now = idp.clock.time()
    if iat > now + FUTURE_LEEWAY:
        raise DPoPProofError("The DPoP proof JWT is issued in the future.")
    if iat < now - MAX_AGE:
        raise DPoPProofError("The DPoP proof JWT is issued more than five minutes in the past.")
    exp = _number(claims, "exp")
    if exp is not None and exp <= now:
        raise DPoPProofError("The DPoP proof JWT is expired.")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise DPoPProofError("'jti' claim in the DPoP proof JWT is invalid.")
    if access_token is not None:
        ath = claims.get("ath")
        expected = access_token_hash(access_token)
        if not isinstance(ath, str) or not hmac.compare_digest(ath, expected):
            raise DPoPProofError(
                "'ath' claim in the DPoP proof does not match the presented access_token."
            )


def _check_nonce(claims: dict[str, Any], nonce: bool | str | None, idp: IdP) -> None:
    if nonce is None or nonce is False:
        return
    sent = claims.get("nonce")
    if isinstance(nonce, str):
        good = isinstance(sent, str) and hmac.compare_digest(sent, nonce)
        if not good:
            raise DPoPNonceRequired(nonce)
        return
    if not isinstance(sent, str) or not idp.dpop_nonce_valid(sent):
        raise DPoPNonceRequired(idp.dpop_nonce())
