"""Client authentication at /token, /introspect, /revoke (okta-wire §2.1, RFC 7523 §3).

All five methods with Okta's checks and exact ``error_description`` texts. The order matters:
request-shape problems first, then the credential form, then (for JWT assertions) parse, client,
algorithm, key, signature, claims, and the ``jti`` burn last — so a replayed assertion is refused
only once it is otherwise valid, and an assertion answered with ``use_dpop_nonce`` is still spent.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from authgate.idp.config import AppConfig
from authgate.idp.errors import OAuthProblem
from authgate.idp.jwt_util import ASYMMETRIC_ALGS, HMAC_ALGS, parse_compact, verify_hmac, verify_jwk
from authgate.idp.state import IdP

__all__ = ["ASSERTION_TYPE", "AuthenticatedClient", "authenticate_client"]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_AHEAD = 3600
MULTIPLE = (
    "Cannot supply multiple client credentials. Use one of the following: credentials in the "
    "Authorization header, credentials in the post body, or a client_assertion in the post body."
)
GENERIC = "Client authentication failed. Either the client or the client credentials are invalid."


@dataclass(frozen=True)
class AuthenticatedClient:
    """The app that authenticated and the method it used."""

    app: AppConfig
    method: str


def _client_error(description: str) -> OAuthProblem:
    return OAuthProblem(401, "invalid_client", description)


def authenticate_client(
    idp: IdP, form: dict[str, str], authorization: str | None, endpoint_url: str
) -> AuthenticatedClient:
    """Authenticate the caller or raise :class:`OAuthProblem` with Okta's status and text."""
    in_body = "client_secret" in form or "client_assertion" in form
    if authorization is not None:
        if in_body:
            raise OAuthProblem(401, "invalid_request", MULTIPLE)
        return _basic(idp, authorization)
    if "client_assertion" in form or "client_assertion_type" in form:
        if "client_secret" in form:
            raise OAuthProblem(401, "invalid_request", MULTIPLE)
        return _assertion(idp, form, endpoint_url)
    client_id = form.get("client_id")
    if not client_id:
        raise _client_error("No client credentials found.")
    app = _known(idp, client_id)
    if "client_secret" in form:
        return _secret(app, form["client_secret"], "client_secret_post")
    if app.auth_method != "none":
        raise _client_error(GENERIC)
    return AuthenticatedClient(app, "none")


def _known(idp: IdP, client_id: str) -> AppConfig:
    app = idp.app(client_id)
    if app is None or app.client_id != client_id:
        raise _client_error("Invalid value for 'client_id' parameter.")
    return app


def _basic(idp: IdP, authorization: str) -> AuthenticatedClient:
    scheme, _, encoded = authorization.strip().partition(" ")
    invalid = _client_error("Found Authentication header but was not valid client credentials.")
    if scheme.lower() != "basic" or not encoded.strip():
        raise invalid
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise invalid from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise invalid
    # RFC 6749 §2.3.1: both halves are form-urlencoded before base64.
    app = _known(idp, unquote_plus(client_id))
    return _secret(app, unquote_plus(secret), "client_secret_basic")


def _secret(app: AppConfig, secret: str, method: str) -> AuthenticatedClient:
    if app.auth_method != method or app.client_secret is None:
        raise _client_error(GENERIC)
    if not hmac.compare_digest(secret.encode(), app.client_secret.encode()):
        raise _client_error("The client secret supplied for a confidential client is invalid.")
    return AuthenticatedClient(app, method)


def _assertion(idp: IdP, form: dict[str, str], endpoint_url: str) -> AuthenticatedClient:
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise OAuthProblem(400, "invalid_request", "The client_assertion_type is invalid.")
    token = form.get("client_assertion", "")
    try:
        header, claims = parse_compact(token)
    except ValueError as exc:
        raise _client_error("The parsing of the client_assertion failed.") from exc
    issuer = claims.get("iss")
    app = idp.app(issuer) if isinstance(issuer, str) else None
    if app is None or app.client_id != issuer:
        raise _client_error("The issuer claim for client_assertion is not a valid client_id.")
    if "client_id" in form and form["client_id"] != app.client_id:
        raise _client_error(GENERIC)
    if claims.get("sub") != app.client_id:
        raise _client_error("The subject claim for client_assertion is not a valid client_id.")
    alg = header.get("alg")
    if alg in HMAC_ALGS:
        _check_hmac(app, token, str(alg))
    elif alg in ASYMMETRIC_ALGS:
        _check_key(idp, app, token, header, str(alg))
    else:
        raise _client_error("The client_assertion JWT signature algorithm is invalid.")
    _check_claims(idp, app, claims, endpoint_url)
    return AuthenticatedClient(app, app.auth_method)


def _check_hmac(app: AppConfig, token: str, alg: str) -> None:
    if app.auth_method != "client_secret_jwt" or app.client_secret is None:
        raise _client_error("The client_assertion JWT signature algorithm is invalid.")
    if len(app.client_secret) < 32:
        raise _client_error("The client secret is too short to verify a JWT HMAC.")
    if not verify_hmac(token, app.client_secret, alg):
        raise _client_error("The client_assertion signature is invalid.")


def _check_key(idp: IdP, app: AppConfig, token: str, header: dict[str, Any], alg: str) -> None:
    if app.auth_method != "private_key_jwt":
        raise _client_error("The client_assertion JWT signature algorithm is invalid.")
    jwks = idp.client_jwks(app)
    keys = [k for k in (jwks or {}).get("keys", []) if isinstance(k, dict)]
    if not keys:
        raise _client_error(
            "The client does not have a JWKSet configured, but the client_assertion requires one."
        )
    kid = header.get("kid")
    candidates = [k for k in keys if k.get("kid") == kid] if kid is not None else keys
    if not candidates:
        raise _client_error("The client_assertion JWT kid is invalid.")
    if any(k.get("use", "sig") != "sig" for k in candidates):
        raise _client_error(
            "The public key being used for client assertion has an invalid 'use' parameter. "
            "Valid values for the 'use' parameter are [sig]."
        )
    if not any(verify_jwk(token, key, alg) for key in candidates):
        raise _client_error("The client_assertion signature is invalid.")


def _check_claims(idp: IdP, app: AppConfig, claims: dict[str, Any], endpoint_url: str) -> None:
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if endpoint_url not in audiences:
        raise _client_error(
            "The audience claim for client_assertion must be the endpoint invoked for the request."
        )
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise _client_error(
            "The client_assertion must contain the 'exp' claim as seconds since epoch."
        )
    now = idp.clock.time()
    if exp <= now:
        raise _client_error("The client_assertion token is expired.")
    if exp > now + MAX_ASSERTION_AHEAD:
        raise _client_error("The client_assertion token has an expiration too far into the future.")
    iat = claims.get("iat")
    if isinstance(iat, int | float) and not isinstance(iat, bool) and iat > now:
        raise _client_error("The client_assertion token must be issued before the current time.")
    jti = claims.get("jti")
    if jti is not None and not idp.burn(f"assertion:{app.client_id}", str(jti), float(exp)):
        raise _client_error("The client_assertion token has already been used.")
