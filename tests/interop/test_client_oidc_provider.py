"""authgate's Okta client against npm ``oidc-provider`` (software we did not write): client
credentials with ``private_key_jwt`` (RFC 7523 §2.2), discovery included.

The provider runs under node on a free port (PORT=0, it reports the port it got), is polled
for readiness through its discovery document, and is stopped after the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey
from tests.interop.test_idp_openid_client import NODE_DIR, node_binary

from authgate.okta.client_assertion import SigningKey
from authgate.okta.token_client import OktaTokenClient

pytestmark = pytest.mark.interop
CLIENT_ID = "authgate-interop"


@pytest.fixture
def provider() -> Iterator[tuple[str, SigningKey]]:
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(
            "tests/interop/node/node_modules is missing: run scripts/install", pytrace=False
        )
    key = RSAKey.import_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    public = {**key.as_dict(private=False), "kid": "interop-1", "alg": "RS256", "use": "sig"}
    env = {**os.environ, "PORT": "0", "NODE_NO_WARNINGS": "1",
           "PROVIDER_CONFIG": json.dumps({"client_id": CLIENT_ID, "jwk": public})}  # fmt: skip
    process = subprocess.Popen(
        [node_binary(), str(NODE_DIR / "provider_pkjwt.mjs")],
        cwd=NODE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once listening (or EOF on a crash)
        if not line:
            pytest.fail(
                f"oidc-provider did not start: {process.stderr.read() if process.stderr else ''}"
            )
        issuer = str(json.loads(line)["issuer"])
        deadline = time.monotonic() + 20
        while True:  # bounded readiness poll on the real condition: discovery answers
            try:
                if (
                    httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code
                    == 200
                ):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("oidc-provider discovery did not answer within 20 s")
            time.sleep(0.05)
        yield issuer, SigningKey(key, "RS256", "interop-1")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_client_credentials_private_key_jwt(provider: tuple[str, SigningKey]) -> None:
    issuer, key = provider
    client = OktaTokenClient(
        issuer=issuer, client_id=CLIENT_ID, auth_method="private_key_jwt", signing_key=key
    )
    try:
        token = client.client_credentials(["api:read"])
        assert client.client_credentials(["api:read"]) is token  # cached
        assert token.token_type == "Bearer"
        assert token.scope == "api:read"
        assert client.token_endpoint() == f"{issuer}/token"
        import base64

        body = token.access_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        assert claims["client_id"] == CLIENT_ID
        assert claims["aud"] == "urn:authgate:interop"
        # A second, fresh assertion is accepted: oidc-provider replay-checks jti, so reuse would fail.
        client.cache.invalidate(client.key("client_credentials", ["api:read"]))
        assert client.client_credentials(["api:read"]).access_token != token.access_token
    finally:
        client.close()


def test_wrong_key_is_invalid_client(provider: tuple[str, SigningKey]) -> None:
    issuer, _ = provider
    other = SigningKey(
        RSAKey.import_key(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "RS256",
        "interop-1",
    )
    client = OktaTokenClient(
        issuer=issuer, client_id=CLIENT_ID, auth_method="private_key_jwt", signing_key=other
    )
    from authgate.errors import ErrorCode
    from authgate.okta.errors import OktaError

    try:
        with pytest.raises(OktaError) as caught:
            client.client_credentials(["api:read"])
        assert caught.value.code is ErrorCode.OKTA_INVALID_CLIENT
        assert "private_key_jwt" in (caught.value.hint or "")
    finally:
        client.close()
