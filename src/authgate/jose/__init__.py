"""JOSE for authgate: strict compact JWS (RFC 7515), keys (RFC 7517), JWT claims (RFC 7519).

The verification core other packages build on. Import from here; module layout may change.
"""

from authgate.jose.algorithms import SUPPORTED, algorithms_for_key, check_allowed, verify
from authgate.jose.claims import ClaimsPolicy, looks_like_id_token, validate_claims
from authgate.jose.compact import CompactJWS, decode_compact, split_compact, verify_signature
from authgate.jose.keys import KeyImportError, KeySet, VerificationKey

__all__ = [
    "SUPPORTED",
    "ClaimsPolicy",
    "CompactJWS",
    "KeyImportError",
    "KeySet",
    "VerificationKey",
    "algorithms_for_key",
    "check_allowed",
    "decode_compact",
    "looks_like_id_token",
    "split_compact",
    "validate_claims",
    "verify",
    "verify_signature",
]
