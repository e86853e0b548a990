"""PyJWT and joserfc (libraries we did not write) verify dev-IdP tokens from its JWKS (okta-wire §3).

Both fetch or import ``/v1/keys`` exactly as they would from Okta and check signature, issuer,
audience and expiry; PyJWT's ``PyJWKClient`` also finds the new key after a rotation.
"""

from __future__ import annotations

import httpx
import jwt as pyjwt
import pytest
from joserfc import jwt as jose_jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from tests.support.idp_server import ServedIdP, running_idp

pytestmark = pytest.mark.interop


def _tokens(served: ServedIdP) -> tuple[str, str]:
    native = served.idp.config.app("demo-native")
    alice = served.idp.config.user("alice@example.com")
    assert native is not None
    assert alice is not None
    form = {"grant_type": "password", "username": alice.login, "password": alice.password,
            "scope": "openid profile api:read"}  # fmt: skip
    body = httpx.post(
        served.endpoint("token"), data=form, auth=(native.client_id, native.client_secret or "")
    ).json()
    return body["access_token"], body["id_token"]


def test_pyjwt_with_pyjwkclient() -> None:
    with running_idp() as served:
        access, id_token = _tokens(served)
        client = pyjwt.PyJWKClient(served.endpoint("keys"), cache_keys=True)
        claims = pyjwt.decode(access, client.get_signing_key_from_jwt(access).key, algorithms=["RS256"],
                              audience="api://default", issuer=served.issuer("default"))  # fmt: skip
        assert claims["sub"] == "alice@example.com"
        assert claims["scp"] == ["openid", "profile", "api:read"]
        native = served.idp.config.app("demo-native")
        assert native is not None
        id_claims = pyjwt.decode(id_token, client.get_signing_key_from_jwt(id_token).key, algorithms=["RS256"],
                                 audience=native.client_id, issuer=served.issuer("default"))  # fmt: skip
        assert id_claims["sub"].startswith("00u")
        with pytest.raises(pyjwt.InvalidAudienceError):
            pyjwt.decode(
                access,
                client.get_signing_key_from_jwt(access).key,
                algorithms=["RS256"],
                audience="api://other",
            )
        served.idp.rotate_keys("default")
        rotated, _ = _tokens(served)
        # An unknown kid makes PyJWKClient refetch the JWKS, where the new key already is.
        key = client.get_signing_key_from_jwt(rotated).key
        assert (
            pyjwt.decode(rotated, key, algorithms=["RS256"], audience="api://default")["uid"]
            == claims["uid"]
        )


def test_joserfc_keyset() -> None:
    with running_idp() as served:
        access, _ = _tokens(served)
        keys = KeySet.import_key_set(httpx.get(served.endpoint("keys")).json())
        token = jose_jwt.decode(access, keys, algorithms=["RS256"])
        assert token.header == {"kid": token.header["kid"], "alg": "RS256"}
        registry = JWTClaimsRegistry(
            now=int(served.idp.clock.time()),
            iss={"essential": True, "value": served.issuer("default")},
            aud={"essential": True, "value": "api://default"},
        )
        registry.validate(token.claims)
        assert token.claims["ver"] == 1
        tampered = access[:-6] + ("AAAAAA" if not access.endswith("AAAAAA") else "BBBBBB")
        with pytest.raises(BadSignatureError):
            jose_jwt.decode(tampered, keys, algorithms=["RS256"])
