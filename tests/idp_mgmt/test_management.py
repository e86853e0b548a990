"""Management API subset over real HTTP (okta-wire §5, §8 item 11): auth, objects, paging, limits."""

from __future__ import annotations

import copy
import hashlib
import re
import uuid
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from tests.idp_mgmt.conftest import Served, serve

from authgate.idp.config import IdPConfig
from authgate.idp.demo_config import DEMO
from authgate.idp.keys import b64url
from authgate.idp.tokens import mint_access_token

SSWS = {"Authorization": "SSWS dev-ssws-token"}
READ_ALL = ["okta.users.read", "okta.groups.read", "okta.apps.read"]


def _config(**changes: Any) -> IdPConfig:
    raw = copy.deepcopy(DEMO)
    for key, value in changes.items():
        raw[key] = value
    return IdPConfig.from_mapping(raw)


def _okta_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errorCode"] == code
    assert body["errorLink"] == code
    assert re.fullmatch(r"oae[A-Za-z0-9]{22}", body["errorId"])
    assert isinstance(body["errorCauses"], list)
    assert response.headers["x-okta-request-id"].startswith("req")
    return body


def _org_token(
    served: Served, app: str = "demo-jwt", scopes: list[str] | None = None, jkt: str | None = None
) -> str:
    idp = served.idp
    app_config = idp.config.app(app)
    assert app_config is not None
    minted = mint_access_token(
        idp.server("org"),
        app=app_config,
        user=None,
        scopes=READ_ALL if scopes is None else scopes,
        lifetime=3600,
        jkt=jkt,
    )
    return minted.token


def _links(response: httpx.Response) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in response.headers.get_list("link"):
        match = re.fullmatch(r'<([^>]+)>; rel="(\w+)"', value)
        assert match, value
        found[match.group(2)] = match.group(1)
    return found


# -- SSWS ---------------------------------------------------------------------------------------
def test_ssws_lists_users_with_okta_headers(served: Served) -> None:
    response = served.http.get("/api/v1/users", headers=SSWS)
    assert response.status_code == 200
    logins = [user["profile"]["login"] for user in response.json()]
    assert sorted(logins) == sorted(u.login for u in served.idp.config.users)
    assert response.headers["x-okta-request-id"].startswith("req")
    assert parsedate_to_datetime(response.headers["date"]).timestamp() == served.clock.time()
    assert response.headers["x-rate-limit-limit"] == "600"
    assert int(response.headers["x-rate-limit-reset"]) == int(served.clock.time()) + 60
    assert _links(response) == {"self": f"{served.url}/api/v1/users"}


def test_ssws_without_the_space_as_okta_sdk_3_sends_it(served: Served) -> None:
    response = served.http.get("/api/v1/users", headers={"Authorization": "SSWSdev-ssws-token"})
    assert response.status_code == 200


@pytest.mark.parametrize("key", ["alice@example.com", "alice", "ID"])
def test_user_by_id_login_or_short_name(served: Served, key: str) -> None:
    alice = served.idp.config.user("alice@example.com")
    assert alice is not None
    response = served.http.get(f"/api/v1/users/{alice.id if key == 'ID' else key}", headers=SSWS)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == alice.id
    assert body["id"].startswith("00u")
    assert body["status"] == "ACTIVE"
    assert body["profile"]["login"] == "alice@example.com"
    assert body["profile"]["firstName"] == "Alice"
    assert body["_links"]["self"]["href"] == f"{served.url}/api/v1/users/{alice.id}"


def test_user_groups_are_okta_group_objects(served: Served) -> None:
    response = served.http.get("/api/v1/users/alice@example.com/groups", headers=SSWS)
    assert response.status_code == 200
    groups = {g["profile"]["name"]: g for g in response.json()}
    assert set(groups) == {"Everyone", "Network-Admins"}
    admins = groups["Network-Admins"]
    assert admins["id"].startswith("00g")
    assert admins["type"] == "OKTA_GROUP"
    assert admins["objectClass"] == ["okta:user_group"]
    assert admins["profile"]["description"] == "Administer network devices"
    assert admins["_links"]["users"]["href"] == f"{served.url}/api/v1/groups/{admins['id']}/users"
    assert [logo["name"] for logo in admins["_links"]["logo"]] == ["medium", "large"]
    assert groups["Everyone"]["type"] == "BUILT_IN"


def test_groups_apps_and_members(served: Served) -> None:
    groups = served.http.get("/api/v1/groups", params={"q": "oper"}, headers=SSWS)
    assert [g["profile"]["name"] for g in groups.json()] == ["Operators"]
    group_id = groups.json()[0]["id"]
    one = served.http.get(f"/api/v1/groups/{group_id}", headers=SSWS)
    assert one.json()["profile"]["name"] == "Operators"
    members = served.http.get(f"/api/v1/groups/{group_id}/users", headers=SSWS)
    assert [u["profile"]["login"] for u in members.json()] == ["bob@example.com"]
    apps = served.http.get("/api/v1/apps", params={"limit": 200}, headers=SSWS)
    labels = {a["label"]: a for a in apps.json()}
    assert "demo-jwt" in labels
    jwt_app = labels["demo-jwt"]
    assert jwt_app["id"].startswith("0oa")
    assert jwt_app["credentials"]["oauthClient"]["token_endpoint_auth_method"] == "private_key_jwt"
    by_id = served.http.get(f"/api/v1/apps/{jwt_app['id']}", headers=SSWS)
    assert by_id.json()["label"] == "demo-jwt"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api/v1/users/nobody@example.com", "User"),
        ("/api/v1/users/nobody@example.com/groups", "User"),
        ("/api/v1/groups/00gNOPE", "UserGroup"),
        ("/api/v1/apps/0oaNOPE", "AppInstance"),
    ],
)
def test_unknown_objects_are_404_e0000007(served: Served, path: str, kind: str) -> None:
    body = _okta_error(served.http.get(path, headers=SSWS), 404, "E0000007")
    assert body["errorSummary"].endswith(f"({kind})")


@pytest.mark.parametrize(
    "header",
    ["SSWS wrong-token", "SSWS", "Basic dXNlcjpwYXNz", "Bearer not-a-jwt", "DPoP not-a-jwt"],
)
def test_bad_credentials_are_401_e0000011(served: Served, header: str) -> None:
    body = _okta_error(
        served.http.get("/api/v1/users", headers={"Authorization": header}), 401, "E0000011"
    )
    assert body["errorSummary"] == "Invalid token provided"


def test_no_credentials_is_403_invalid_session(served: Served) -> None:
    body = _okta_error(served.http.get("/api/v1/groups"), 403, "E0000005")
    assert body["errorSummary"] == "Invalid session"


def test_ssws_token_of_a_non_admin_is_403_e0000006() -> None:
    tokens = [{"name": "ops", "value": "ops-token", "user": "bob@example.com"}]
    for served in serve(_config(api_tokens=tokens)):
        response = served.http.get("/api/v1/users", headers={"Authorization": "SSWS ops-token"})
        body = _okta_error(response, 403, "E0000006")
        assert body["errorSummary"] == "You do not have permission to perform the requested action"


# -- OAuth for Okta (org AS tokens) -------------------------------------------------------------
def test_bearer_with_scopes_and_admin_role_lists_groups(served: Served) -> None:
    response = served.http.get(
        "/api/v1/users/bob@example.com/groups",
        headers={"Authorization": f"Bearer {_org_token(served)}"},
    )
    assert response.status_code == 200
    assert {g["profile"]["name"] for g in response.json()} == {"Everyone", "Operators"}


def test_missing_scope_is_403_empty_body_with_challenge(served: Served) -> None:
    token = _org_token(served, scopes=["okta.users.read"])
    group_id = served.idp.config.groups[1].id
    response = served.http.get(
        f"/api/v1/groups/{group_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert response.content == b""
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="okta.groups.read"' in challenge
    assert f'resource="/api/v1/groups/{group_id}"' in challenge
    assert f'realm="{served.url}"' in challenge
    assert response.headers["x-okta-request-id"].startswith("req")


def test_manage_scope_includes_read(served: Served) -> None:
    token = _org_token(served, scopes=["okta.groups.manage"])
    response = served.http.get("/api/v1/groups", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_scoped_token_without_admin_role_is_403_e0000006(served: Served) -> None:
    token = _org_token(served, app="demo-service")  # role "User"
    response = served.http.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    _okta_error(response, 403, "E0000006")


def test_expired_or_foreign_tokens_are_401(served: Served) -> None:
    token = _org_token(served)
    served.clock.advance(3601)
    expired = served.http.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    _okta_error(expired, 401, "E0000011")
    app = served.idp.config.app("demo-jwt")
    assert app is not None
    custom = mint_access_token(
        served.idp.server("default"), app=app, user=None, scopes=READ_ALL, lifetime=3600
    ).token
    foreign = served.http.get("/api/v1/users", headers={"Authorization": f"Bearer {custom}"})
    _okta_error(foreign, 401, "E0000011")


# -- DPoP ----------------------------------------------------------------------------------------
@pytest.fixture
def dpop_key() -> ECKey:
    return ECKey.generate_key("P-256")


def test_dpop_bound_token_with_proof(served: Served, dpop_key: ECKey) -> None:
    token = _org_token(served, jkt=dpop_key.thumbprint())
    url = f"{served.url}/api/v1/users/carol@example.com/groups"

    def call(proof: str) -> httpx.Response:
        return served.http.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": proof})

    proof = _dpop_at(dpop_key, url, token, served.clock.time())
    ok = call(proof)
    assert ok.status_code == 200, ok.text
    assert {g["profile"]["name"] for g in ok.json()} == {"Everyone", "Users"}
    replay = call(proof)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_dpop_proof"
    other = ECKey.generate_key("P-256")
    wrong_key = call(_dpop_at(other, url, token, served.clock.time()))
    assert wrong_key.status_code == 400
    assert wrong_key.json()["error_description"] == (
        "The access_token is not bound to the provided DPoP proof."
    )
    as_bearer = served.http.get(url, headers={"Authorization": f"Bearer {token}"})
    assert as_bearer.status_code == 400
    assert as_bearer.json()["error"] == "invalid_request"
    missing = served.http.get(url, headers={"Authorization": f"DPoP {token}"})
    assert missing.json()["error_description"] == "The DPoP proof JWT header is missing."


def test_unbound_token_sent_as_dpop_is_401_invalid_token(served: Served, dpop_key: ECKey) -> None:
    token = _org_token(served)
    url = f"{served.url}/api/v1/users"
    proof = _dpop_at(dpop_key, url, token, served.clock.time())
    response = served.http.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": proof})
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "The presented access_token is not DPoP bound.",
    }


def _dpop_at(key: ECKey, url: str, token: str, now: float) -> str:
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    ath = b64url(hashlib.sha256(token.encode()).digest())
    claims = {"htm": "GET", "htu": url, "iat": int(now), "jti": str(uuid.uuid4()), "ath": ath}
    return jwt.encode(header, claims, key)


# -- paging ---------------------------------------------------------------------------------------
def _many_groups(count: int) -> IdPConfig:
    groups = [{"name": f"team-{i:04d}", "description": f"Team {i}"} for i in range(count)]
    users = [
        {
            "login": "many@example.com",
            "password": "Many-DEV-1",
            "groups": [g["name"] for g in groups],
        }
    ]
    return _config(groups=groups, users=users, api_tokens=[{"name": "root", "value": "root"}])


def test_user_groups_page_at_200_and_follow_next_links_verbatim() -> None:
    for served in serve(_many_groups(450)):
        headers = {"Authorization": "SSWS root"}
        url: str | None = f"{served.url}/api/v1/users/many@example.com/groups"
        pages: list[list[dict[str, Any]]] = []
        while url is not None:
            response = served.http.get(url, headers=headers)
            assert response.status_code == 200
            pages.append(response.json())
            links = _links(response)
            assert links["self"] == url
            url = links.get("next")
            assert len(pages) <= 5
        assert [len(p) for p in pages] == [200, 200, 50]
        ids = [g["id"] for page in pages for g in page]
        assert len(set(ids)) == 450
        assert ids == sorted(ids)
        limited = served.http.get(
            "/api/v1/users/many@example.com/groups", params={"limit": 100}, headers=headers
        )
        assert len(limited.json()) == 100
        next_url = _links(limited)["next"]
        assert "limit=100" in next_url
        assert f"after={limited.json()[-1]['id']}" in next_url
        bad = served.http.get(
            "/api/v1/users/many@example.com/groups", params={"limit": "x"}, headers=headers
        )
        _okta_error(bad, 400, "E0000001")


# -- rate limits through the served IdP --------------------------------------------------------------
def test_429_e0000047_with_date_and_reset_then_window_reopens() -> None:
    limits = [{"family": "groups", "path_prefix": "/api/v1/groups", "per_minute": 2}]
    for served in serve(_config(rate_limits=limits)):
        first = served.http.get("/api/v1/groups", headers=SSWS)
        second = served.http.get("/api/v1/groups", headers=SSWS)
        refused = served.http.get("/api/v1/groups", headers=SSWS)
        assert [first.status_code, second.status_code] == [200, 200]
        assert [
            first.headers["x-rate-limit-remaining"],
            second.headers["x-rate-limit-remaining"],
        ] == [
            "1",
            "0",
        ]
        body = _okta_error(refused, 429, "E0000047")
        assert body["errorSummary"] == "API call exceeded rate limit due to too many requests."
        reset = int(refused.headers["x-rate-limit-reset"])
        date = parsedate_to_datetime(refused.headers["date"]).timestamp()
        assert reset - date == 60  # what Okta's SDK would sleep, minus its extra second
        assert refused.headers["x-rate-limit-limit"] == "2"
        other_family = served.http.get("/api/v1/users", headers=SSWS)
        assert other_family.status_code == 200
        served.clock.advance(60)
        assert served.http.get("/api/v1/groups", headers=SSWS).status_code == 200
