"""The /__admin/ control API, fault injection, clock skew and the request log (no secrets in it)."""

from __future__ import annotations

import httpx
import pytest
from tests.idp.helpers import decode_part, secret_of
from tests.support.idp_server import ServedIdP

ADMIN = {"Authorization": "Bearer dev-admin-token"}


def cc(http: httpx.Client, served: ServedIdP) -> httpx.Response:
    return http.post(
        served.endpoint("token"),
        data={"grant_type": "client_credentials"},
        auth=secret_of(served, "demo-service"),
    )


@pytest.mark.parametrize(
    "header", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "SSWS dev-admin-token"}]
)
def test_admin_needs_its_token(http: httpx.Client, header: dict[str, str]) -> None:
    response = http.post("/__admin/reset", headers=header)
    assert response.status_code == 401
    assert response.json()["errorCode"] == "E0000011"


def test_forced_faults_then_recovery(served: ServedIdP, http: httpx.Client) -> None:
    armed = http.post(
        "/__admin/faults",
        headers=ADMIN,
        json={"path": "/oauth2/*/v1/token", "status": 503, "count": 2},
    )
    assert armed.status_code == 201
    for _ in range(2):
        response = cc(http, served)
        assert response.status_code == 503
        assert response.json()["error"] == "server_error"
    assert cc(http, served).status_code == 200
    served.idp.faults.add("/api/v1/users*", status=429, count=1)
    limited = http.get("/api/v1/users", headers={"Authorization": "SSWS dev-ssws-token"})
    assert limited.status_code == 429
    assert limited.json()["errorCode"] == "E0000047"
    custom = http.post(
        "/__admin/faults",
        headers=ADMIN,
        json={"path": "/oauth2/default/v1/keys", "status": 500, "body": {"oops": 1}},
    )
    assert custom.status_code == 201
    assert http.get("/oauth2/default/v1/keys").json() == {"oops": 1}
    assert http.get("/oauth2/default/v1/keys").status_code == 200


def test_fault_validation(http: httpx.Client) -> None:
    bad = http.post("/__admin/faults", headers=ADMIN, json={"path": "no-slash"})
    assert bad.status_code == 400
    assert bad.json()["errorCode"] == "E0000001"
    junk = http.post(
        "/__admin/faults", headers={**ADMIN, "Content-Type": "application/json"}, content=b"{nope"
    )
    assert junk.status_code == 400
    assert junk.json()["errorCode"] == "E0000003"


def test_clock_skew_moves_iat(served: ServedIdP, http: httpx.Client) -> None:
    plain = decode_part(cc(http, served).json()["access_token"], 1)["iat"]
    assert http.post("/__admin/clock", headers=ADMIN, json={"skew": 7200}).json() == {
        "skew": 7200.0
    }
    skewed = decode_part(cc(http, served).json()["access_token"], 1)["iat"]
    assert 7190 <= skewed - plain <= 7210


def test_rotate_revoke_reset_and_state(served: ServedIdP, http: httpx.Client) -> None:
    token = cc(http, served).json()["access_token"]
    before = served.idp.server("default").keys.active().kid
    rotated = http.post("/__admin/keys/default/rotate", headers=ADMIN).json()
    assert rotated["kid"] != before
    assert http.post("/__admin/keys/nope/rotate", headers=ADMIN).status_code == 404
    assert http.post("/__admin/revoke-all", headers=ADMIN).json() == {"revoked": 1}
    assert served.idp.validate_access_token(token, "default") is None
    state = http.get("/__admin/state", headers=ADMIN).json()
    assert state["access_tokens"] == 1
    assert http.post("/__admin/reset", headers=ADMIN).status_code == 204
    assert http.get("/__admin/state", headers=ADMIN).json()["access_tokens"] == 0


def test_request_log_is_readable_and_secret_free(served: ServedIdP, http: httpx.Client) -> None:
    client_id, secret = secret_of(served, "demo-service")
    token = cc(http, served).json()["access_token"]
    http.post(
        served.endpoint("token"),
        data={"grant_type": "client_credentials"},
        auth=(client_id, "wrong-secret"),
    )
    records = served.idp.request_log.records(path="/v1/token")
    assert [r.status for r in records] == [200, 401]
    assert records[0].grant_type == "client_credentials"
    assert records[0].client_id == client_id
    listed = http.get("/__admin/requests", headers=ADMIN, params={"path": "/v1/token"}).json()
    assert len(listed) == 2
    dump = repr(served.idp.request_log.records()) + str(listed)
    for secret_value in (secret, token, "wrong-secret"):
        assert secret_value not in dump


def test_unknown_path_and_method(http: httpx.Client) -> None:
    missing = http.get("/no/such/path")
    assert missing.status_code == 404
    assert missing.json()["errorCode"] == "E0000008"
    wrong_method = http.get("/oauth2/default/v1/token")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["errorCode"] == "E0000022"
