"""Doctor's Okta checks against the dev IdP configured wrongly in each of the usual ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.doctor.conftest import (
    demo_with,
    doctor,
    key_file,
    make_ctx,
    okta_for,
    one,
    server,
    user_token,
)
from tests.support.idp_server import ServedIdP, running_idp

from authgate.doctor import Status
from authgate.gateway.settings import GatewaySettings

POLICY = """
[[rules]]
name = "health"
path = "/health"
public = true

[[rules]]
name = "read"
path = "/api/items"
scopes = ["api:read"]

[[rules]]
name = "admin"
path = "/api/admin"
roles = ["Admin"]
"""


def test_client_credentials_token_verified(idp: ServedIdP, tmp_path: Path) -> None:
    report = doctor(make_ctx(idp, tmp_path, okta=okta_for(idp, scopes=["api:read"])))
    assert one(report, "okta client credentials").status is Status.PASS
    verified = one(report, "token verification")
    assert verified.status is Status.PASS
    assert "roles User" in verified.reason
    assert "required_scopes" in one(report, "route policy").reason  # the gap is reported


def test_openid_with_client_credentials(idp: ServedIdP, tmp_path: Path) -> None:
    ctx = make_ctx(idp, tmp_path, okta=okta_for(idp, scopes=["openid", "api:read"]))
    found = one(doctor(ctx), "okta client credentials")
    assert found.status is Status.FAIL
    assert found.code == "okta.invalid_scope"
    assert "OIDC scopes cannot be requested with client credentials" in found.reason
    assert "custom scope" in found.fix


def test_app_requires_dpop(idp: ServedIdP, tmp_path: Path) -> None:
    okta = okta_for(idp, "demo-dpop", private_key_file=key_file(idp, "demo-dpop", tmp_path))
    found = one(doctor(make_ctx(idp, tmp_path, okta=okta)), "okta client credentials")
    assert found.status is Status.FAIL
    assert found.code == "okta.dpop_required"
    assert "requires DPoP" in found.reason
    assert "AUTHGATE_OKTA_DPOP=true" in found.fix
    fixed = okta.model_copy(update={"dpop": True})
    report = doctor(make_ctx(idp, tmp_path, okta=fixed))
    assert one(report, "okta client credentials").status is Status.PASS
    assert "DPoP token" in one(report, "okta client credentials").reason


def test_wrong_client_authentication_form(idp: ServedIdP, tmp_path: Path) -> None:
    # demo-jwt authenticates with private_key_jwt; a secret is the wrong credential form.
    okta = okta_for(idp, "demo-jwt", client_secret="some-secret-that-okta-never-issued")
    found = one(doctor(make_ctx(idp, tmp_path, okta=okta)), "okta client credentials")
    assert found.status is Status.FAIL
    assert found.code == "okta.invalid_client"
    assert "client_secret_basic" in found.reason
    assert "Client authentication" in found.fix


def test_no_access_policy_rule(tmp_path: Path) -> None:
    def no_rule(raw: dict[str, Any]) -> None:
        server(raw, "default")["policies"] = [{"name": "web only", "clients": ["nobody"]}]

    with running_idp(demo_with(no_rule)) as served:
        ctx = make_ctx(served, tmp_path, okta=okta_for(served, scopes=["api:read"]))
        found = one(doctor(ctx), "okta client credentials")
    assert found.status is Status.FAIL
    assert found.code == "okta.access_denied"
    assert "no access-policy rule" in found.reason
    assert "client_credentials" in found.reason


def test_audience_mismatch(idp: ServedIdP, tmp_path: Path) -> None:
    ctx = make_ctx(idp, tmp_path, audiences=["api://orders"], okta=okta_for(idp))
    found = one(doctor(ctx), "token verification")
    assert found.status is Status.FAIL
    assert found.code == "auth.invalid_audience"
    assert "api://default" in found.reason
    assert "audiences" in found.fix


def test_required_scope_missing(idp: ServedIdP, tmp_path: Path) -> None:
    ctx = make_ctx(idp, tmp_path, required_scopes=["api:write"], okta=okta_for(idp))
    found = one(doctor(ctx), "token verification")
    assert found.status is Status.FAIL
    assert found.code == "auth.insufficient_scope"


def test_role_and_scope_mismatch_against_route_policy(idp: ServedIdP, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    gateway = GatewaySettings(policy_file=policy)
    okta = okta_for(idp, scopes=["api:read"])
    report = doctor(make_ctx(idp, tmp_path, okta=okta, gateway=gateway))
    found = one(report, "route policy")
    assert found.status is Status.WARN
    assert found.code == "auth.role_missing"
    assert "rule 'admin'" in found.reason
    assert "Admin role missing" in found.reason
    assert one(report, "policy file").status is Status.PASS


def test_missing_role_claim(tmp_path: Path) -> None:
    def no_role_claim(raw: dict[str, Any]) -> None:
        default = server(raw, "default")
        default["claims"] = [c for c in default["claims"] if c["name"] != "role"]

    policy = tmp_path / "policy.toml"
    policy.write_text('[[rules]]\nname = "users"\npath = "/api/{rest:path}"\nroles = ["User"]\n')
    with running_idp(demo_with(no_role_claim)) as served:
        gateway = GatewaySettings(policy_file=policy)
        ctx = make_ctx(served, tmp_path, okta=okta_for(served), gateway=gateway)
        found = one(doctor(ctx), "route policy")
    assert found.status is Status.FAIL
    assert "denied by every protected rule" in found.reason
    assert "role` claim" in found.fix


def test_token_exchange_passes_with_trusted_subject(idp: ServedIdP, tmp_path: Path) -> None:
    from authgate.idp.demo_config import PARTNER_SERVER_ID

    subject = user_token(idp, PARTNER_SERVER_ID, "partner:read")
    gateway = GatewaySettings(exchange_audience="api://default", exchange_scopes=["api:read"])
    ctx = make_ctx(
        idp, tmp_path, okta=okta_for(idp, "demo-exchange"), gateway=gateway, subject_token=subject
    )
    found = one(doctor(ctx), "okta token exchange")
    assert found.status is Status.PASS
    assert "api://default" in found.reason


def test_token_exchange_untrusted_issuer(tmp_path: Path) -> None:
    from authgate.idp.demo_config import PARTNER_SERVER_ID

    def distrust(raw: dict[str, Any]) -> None:
        server(raw, "default")["trusted_servers"] = []

    with running_idp(demo_with(distrust)) as served:
        subject = user_token(served, PARTNER_SERVER_ID, "partner:read")
        gateway = GatewaySettings(exchange_audience="api://default")
        okta = okta_for(served, "demo-exchange")
        ctx = make_ctx(served, tmp_path, okta=okta, gateway=gateway, subject_token=subject)
        found = one(doctor(ctx), "okta token exchange")
    assert found.status is Status.FAIL
    assert found.code == "okta.access_denied"
    assert "does not trust" in found.reason
    assert "Trusted servers" in found.fix


def test_token_exchange_without_subject_token_is_skipped(idp: ServedIdP, tmp_path: Path) -> None:
    gateway = GatewaySettings(exchange_audience="api://default")
    ctx = make_ctx(idp, tmp_path, okta=okta_for(idp, "demo-exchange"), gateway=gateway)
    found = one(doctor(ctx), "okta token exchange")
    assert found.status is Status.SKIP
    assert "--subject-token" in found.fix


def test_management_api_ssws(idp: ServedIdP, tmp_path: Path) -> None:
    okta = okta_for(idp, management_url=idp.url, ssws_token="dev-ssws-token")
    found = one(doctor(make_ctx(idp, tmp_path, okta=okta)), "okta management api")
    assert found.status is Status.PASS
    assert "requests left" in found.reason


def test_management_api_without_admin_role(tmp_path: Path) -> None:
    def bob_token(raw: dict[str, Any]) -> None:
        raw["api_tokens"] = [{"name": "ops", "value": "bob-ssws", "user": "bob@example.com"}]

    with running_idp(demo_with(bob_token)) as served:
        okta = okta_for(served, management_url=served.url, ssws_token="bob-ssws")
        found = one(doctor(make_ctx(served, tmp_path, okta=okta)), "okta management api")
    assert found.status is Status.FAIL
    assert found.code == "okta.forbidden"
    assert "E0000006" in found.reason
    assert "admin role" in found.fix


def test_management_api_missing_okta_scope(idp: ServedIdP, tmp_path: Path) -> None:
    okta = okta_for(
        idp,
        "demo-jwt",
        server_id="org",
        management_url=idp.url,
        private_key_file=key_file(idp, "demo-jwt", tmp_path),
        management_scopes=["okta.users.read"],
    )
    found = one(doctor(make_ctx(idp, tmp_path, okta=okta)), "okta management api")
    assert found.status is Status.FAIL
    assert "okta.groups.read" in found.fix


def test_management_api_rate_limit_headroom_low(idp: ServedIdP, tmp_path: Path) -> None:
    headers = {"X-Rate-Limit-Limit": "500", "X-Rate-Limit-Remaining": "3"}
    idp.idp.faults.add("/api/v1/groups", status=200, body=[], headers=headers)
    okta = okta_for(idp, management_url=idp.url, ssws_token="dev-ssws-token")
    found = one(doctor(make_ctx(idp, tmp_path, okta=okta)), "okta management api")
    assert found.status is Status.WARN
    assert "3 of 500" in found.reason
