"""npm ``openid-client`` v6 (software we did not write) against the dev IdP (okta-wire §1-§4).

The Node script performs discovery, client credentials (client_secret_basic and
private_key_jwt), the password grant and a refresh, token exchange through
``genericGrantRequest``, and introspection; this test checks what it saw. It also records a real
interop finding: openid-client's default client-assertion ``aud`` is the issuer, which Okta
refuses — the script has to set ``aud`` to the token endpoint with ``modifyAssertion``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.support.idp_server import ServedIdP, running_idp

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).resolve().parent / "node"
ROOT = NODE_DIR.parents[2]


def node_binary() -> str:
    """node >= 20 from PATH or .tools/node; fail (never skip) when missing."""
    candidates = [shutil.which("node"), str(ROOT / ".tools/node/bin/node")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            major = subprocess.run([candidate, "-p", "process.versions.node.split('.')[0]"],
                                   capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
            if major.isdigit() and int(major) >= 20:
                return candidate
    pytest.fail("node >= 20 is missing: run scripts/install", pytrace=False)


def run_script(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    if not (NODE_DIR / "node_modules" / "openid-client").is_dir():
        pytest.fail(
            "tests/interop/node/node_modules is missing: run scripts/install", pytrace=False
        )
    result = subprocess.run(
        [node_binary(), str(NODE_DIR / name)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=NODE_DIR,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output: dict[str, Any] = json.loads(result.stdout)
    return output


def _app(served: ServedIdP, name: str) -> dict[str, Any]:
    app = served.idp.config.app(name)
    assert app is not None
    return {"client_id": app.client_id, "client_secret": app.client_secret}


def test_openid_client_against_dev_idp() -> None:
    with running_idp() as served:
        alice = served.idp.config.user("alice@example.com")
        assert alice is not None
        payload = {
            "issuer": served.issuer("default"),
            "service": _app(served, "demo-service"),
            "native": _app(served, "demo-native"),
            "exchange": _app(served, "demo-exchange"),
            "jwt": {
                **_app(served, "demo-jwt"),
                "private_jwk": served.idp.client_private_jwk("demo-jwt"),
            },
            "user": {"login": alice.login, "password": alice.password},
        }
        out = run_script("idp-openid-client.mjs", payload)

        assert out["discovery"]["value"]["issuer"] == served.issuer("default")
        basic = out["client_credentials_basic"]
        assert basic["ok"], basic
        assert basic["value"]["token_type"] == "bearer"  # oauth4webapi lower-cases it
        assert basic["value"]["scope"] == "api:read"
        assert (
            served.idp.validate_access_token(basic["value"]["access_token"], "default") is not None
        )

        refused = out["private_key_jwt_default_aud"]
        assert not refused["ok"]
        assert refused["error"] == "invalid_client"
        assert refused["error_description"] == (
            "The audience claim for client_assertion must be the endpoint invoked for the request."
        )
        assert out["private_key_jwt"]["ok"], out["private_key_jwt"]

        assert out["password"]["value"] == {"has_refresh": True, "sub": alice.id}
        assert out["refresh"]["ok"], out["refresh"]
        assert out["refresh"]["value"]["same_refresh"] is True  # STATIC rotation echoes it
        assert out["refresh"]["value"]["id_token_sub"] == alice.id

        exchanged = out["token_exchange"]
        assert exchanged["ok"], exchanged
        assert (
            exchanged["value"]["issued_token_type"]
            == "urn:ietf:params:oauth:token-type:access_token"
        )
        claims = served.idp.validate_access_token(exchanged["value"]["access_token"], "default")
        assert claims is not None
        assert claims["sub"] == alice.login
        assert claims["cid"] == payload["exchange"]["client_id"]

        intro = out["introspection"]["value"]
        assert intro["active"] is True
        assert intro["username"] == alice.login
        assert intro["inactive"] == {"active": False}

        bad = out["bad_secret"]
        assert not bad["ok"]
        assert (
            bad["error_description"]
            == "The client secret supplied for a confidential client is invalid."
        )

        grants = [r.grant_type for r in served.idp.request_log.records(path="/v1/token")]
        assert grants.count("client_credentials") == 4
        assert "urn:ietf:params:oauth:grant-type:token-exchange" in grants
