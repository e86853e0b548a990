"""Classic Authentication API over real HTTP: statuses per user kind, TOTP, push, session tokens."""

from __future__ import annotations

import base64
import copy
from typing import Any

import httpx
import pytest
from tests.idp_mgmt.conftest import Served, serve

from authgate.idp.config import IdPConfig
from authgate.idp.demo_config import DEMO
from authgate.idp.endpoints.authn import (
    LOCKOUT_ATTEMPTS,
    authn_service,
    redeem_session_token,
    totp_code,
)

CAROL_SECRET = "JBSWY3DPEHPK3PXP"


def _login(served: Served, username: str, password: str) -> httpx.Response:
    return served.http.post("/api/v1/authn", json={"username": username, "password": password})


def _okta_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errorCode"] == code
    assert body["errorId"].startswith("oae")
    assert response.headers["x-okta-request-id"].startswith("req")
    return body


def _verify(
    served: Served, factor: dict[str, Any], state_token: str, **extra: str
) -> httpx.Response:
    href = factor["_links"]["verify"]["href"]
    assert href.startswith(served.url + "/api/v1/authn/factors/")
    return served.http.post(href, json={"stateToken": state_token, **extra})


def _mfa(served: Served, username: str, password: str) -> tuple[str, dict[str, Any]]:
    body = _login(served, username, password).json()
    assert body["status"] == "MFA_REQUIRED"
    return body["stateToken"], body["_embedded"]["factors"][0]


# -- RFC 6238 ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("time", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ],
)
def test_totp_matches_rfc6238_appendix_b_sha1(time: int, expected: str) -> None:
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp_code(secret, time // 30, digits=8) == expected


# -- primary authentication -----------------------------------------------------------------------
def test_password_only_user_gets_success_and_a_single_use_session_token(served: Served) -> None:
    response = _login(served, "alice@example.com", "Alice-DEV-only-1")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "SUCCESS"
    assert body["sessionToken"].startswith("20111")
    assert "stateToken" not in body
    user = body["_embedded"]["user"]
    assert user["profile"]["login"] == "alice@example.com"
    assert user["id"].startswith("00u")
    assert response.headers["x-okta-request-id"].startswith("req")
    assert redeem_session_token(served.idp, body["sessionToken"]) == user["id"]
    assert redeem_session_token(served.idp, body["sessionToken"]) is None


def test_session_token_expires_after_five_minutes(served: Served) -> None:
    token = _login(served, "bob@example.com", "Bob-DEV-only-1").json()["sessionToken"]
    served.clock.advance(301)
    assert redeem_session_token(served.idp, token) is None


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice@example.com", "wrong"), ("nobody@example.com", "whatever"), ("alice@example.com", "")],
)
def test_bad_credentials_are_401_e0000004(served: Served, username: str, password: str) -> None:
    body = _okta_error(_login(served, username, password), 401, "E0000004")
    assert body["errorSummary"] == "Authentication failed"
    assert body["errorCauses"] == []


def test_locked_out_user(served: Served) -> None:
    response = _login(served, "dave@example.com", "Dave-DEV-only-1")
    assert response.status_code == 200
    assert response.json()["status"] == "LOCKED_OUT"
    assert "sessionToken" not in response.json()


def test_repeated_failures_lock_the_account(served: Served) -> None:
    for _ in range(LOCKOUT_ATTEMPTS):
        _okta_error(_login(served, "bob@example.com", "nope"), 401, "E0000004")
    response = _login(served, "bob@example.com", "Bob-DEV-only-1")
    assert response.json()["status"] == "LOCKED_OUT"


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"{not json", "E0000003"), (b"[1, 2]", "E0000003"), (b'{"username": 5}', "E0000001")],
)
def test_malformed_requests(served: Served, content: bytes, code: str) -> None:
    response = served.http.post(
        "/api/v1/authn", content=content, headers={"Content-Type": "application/json"}
    )
    _okta_error(response, 400, code)


def test_password_expired_then_change_password() -> None:
    raw = copy.deepcopy(DEMO)
    raw["users"].append(
        {"login": "frank@example.com", "password": "Old-DEV-1", "status": "PASSWORD_EXPIRED"}
    )
    for served in serve(IdPConfig.from_mapping(raw)):
        body = _login(served, "frank@example.com", "Old-DEV-1").json()
        assert body["status"] == "PASSWORD_EXPIRED"
        assert body["stateToken"].startswith("00")
        href = body["_links"]["next"]["href"]
        assert href == f"{served.url}/api/v1/authn/credentials/change_password"
        state = body["stateToken"]
        wrong = served.http.post(
            href, json={"stateToken": state, "oldPassword": "x", "newPassword": "New-DEV-2"}
        )
        _okta_error(wrong, 403, "E0000014")
        changed = served.http.post(
            href, json={"stateToken": state, "oldPassword": "Old-DEV-1", "newPassword": "New-DEV-2"}
        )
        assert changed.json()["status"] == "SUCCESS"
        assert _login(served, "frank@example.com", "New-DEV-2").json()["status"] == "SUCCESS"
        _okta_error(_login(served, "frank@example.com", "Old-DEV-1"), 401, "E0000004")


# -- TOTP ------------------------------------------------------------------------------------------
def test_mfa_required_lists_the_totp_factor(served: Served) -> None:
    body = _login(served, "carol@example.com", "Carol-DEV-only-1").json()
    assert body["status"] == "MFA_REQUIRED"
    assert body["stateToken"].startswith("00")
    assert "sessionToken" not in body
    (factor,) = body["_embedded"]["factors"]
    assert factor["factorType"] == "token:software:totp"
    assert factor["provider"] == "OKTA"
    assert factor["_links"]["verify"]["hints"]["allow"] == ["POST"]
    assert body["_embedded"]["user"]["profile"]["login"] == "carol@example.com"


def test_totp_right_wrong_and_replayed(served: Served) -> None:
    state, factor = _mfa(served, "carol@example.com", "Carol-DEV-only-1")
    step = int(served.clock.time() // 30)
    wrong = _verify(
        served,
        factor,
        state,
        passCode="000000" if totp_code(CAROL_SECRET, step) != "000000" else "111111",
    )
    body = _okta_error(wrong, 403, "E0000068")
    assert body["errorCauses"] == [
        {"errorSummary": "Your passcode doesn't match our records. Please try again."}
    ]
    code = totp_code(CAROL_SECRET, step)
    ok = _verify(served, factor, state, passCode=code)
    assert ok.json()["status"] == "SUCCESS"
    assert ok.json()["sessionToken"].startswith("20111")
    # The transaction is finished; a new one cannot reuse the same code.
    used = _verify(served, factor, state, passCode=code)
    _okta_error(used, 401, "E0000011")
    state2, factor2 = _mfa(served, "carol@example.com", "Carol-DEV-only-1")
    _okta_error(_verify(served, factor2, state2, passCode=code), 403, "E0000082")
    served.clock.advance(30)
    fresh = _verify(served, factor2, state2, passCode=totp_code(CAROL_SECRET, step + 1))
    assert fresh.json()["status"] == "SUCCESS"


def test_totp_accepts_one_step_of_drift_but_not_two(served: Served) -> None:
    step = int(served.clock.time() // 30)
    state, factor = _mfa(served, "carol@example.com", "Carol-DEV-only-1")
    _okta_error(
        _verify(served, factor, state, passCode=totp_code(CAROL_SECRET, step - 2)), 403, "E0000068"
    )
    assert (
        _verify(served, factor, state, passCode=totp_code(CAROL_SECRET, step - 1)).json()["status"]
        == "SUCCESS"
    )


def test_state_token_problems(served: Served) -> None:
    state, factor = _mfa(served, "carol@example.com", "Carol-DEV-only-1")
    _okta_error(_verify(served, factor, "00bogus", passCode="123456"), 401, "E0000011")
    unknown = served.http.post(
        "/api/v1/authn/factors/uftNOPE/verify", json={"stateToken": state, "passCode": "1"}
    )
    _okta_error(unknown, 404, "E0000007")
    where = served.http.post("/api/v1/authn", json={"stateToken": state})
    assert where.json()["status"] == "MFA_REQUIRED"
    served.clock.advance(301)
    _okta_error(_verify(served, factor, state, passCode="123456"), 401, "E0000011")


# -- push ------------------------------------------------------------------------------------------
def _push_round(served: Served) -> tuple[dict[str, Any], dict[str, Any]]:
    state, factor = _mfa(served, "erin@example.com", "Erin-DEV-only-1")
    assert factor["factorType"] == "push"
    first = _verify(served, factor, state).json()
    assert first["status"] == "MFA_CHALLENGE"
    assert first["factorResult"] == "WAITING"
    assert first["_links"]["next"]["name"] == "poll"
    poll = served.http.post(first["_links"]["next"]["href"], json={"stateToken": state}).json()
    return first, poll


def test_push_approved_by_config(served: Served) -> None:
    _, poll = _push_round(served)
    assert poll["status"] == "SUCCESS"
    assert poll["sessionToken"].startswith("20111")


@pytest.mark.parametrize(("answer", "result"), [("reject", "REJECTED"), ("timeout", "TIMEOUT")])
def test_push_rejected_or_timed_out_by_the_python_api(
    served: Served, answer: str, result: str
) -> None:
    authn_service(served.idp).set_push_answer("erin@example.com", answer)  # type: ignore[arg-type]
    _, poll = _push_round(served)
    assert poll["status"] == "MFA_CHALLENGE"
    assert poll["factorResult"] == result
    assert "sessionToken" not in poll


def test_push_answer_through_the_admin_endpoint(served: Served) -> None:
    admin = {"Authorization": f"Bearer {served.idp.config.admin_token}"}
    refused = served.http.post(
        "/__admin/authn/push", json={"user": "erin@example.com", "answer": "reject"}
    )
    assert refused.status_code == 401
    set_wait = served.http.post(
        "/__admin/authn/push", json={"user": "erin@example.com", "answer": "wait"}, headers=admin
    )
    assert set_wait.status_code == 204
    state, factor = _mfa(served, "erin@example.com", "Erin-DEV-only-1")
    assert _verify(served, factor, state).json()["factorResult"] == "WAITING"
    assert _verify(served, factor, state).json()["factorResult"] == "WAITING"
    served.http.post(
        "/__admin/authn/push", json={"user": "erin@example.com", "answer": None}, headers=admin
    )
    assert _verify(served, factor, state).json()["status"] == "SUCCESS"
    bad = served.http.post(
        "/__admin/authn/push", json={"user": "erin@example.com", "answer": "maybe"}, headers=admin
    )
    assert bad.status_code == 400
    nobody = served.http.post(
        "/__admin/authn/push", json={"user": "nobody", "answer": "approve"}, headers=admin
    )
    assert nobody.status_code == 404


def test_unanswered_push_times_out_on_the_idp_clock(served: Served) -> None:
    authn_service(served.idp).set_push_answer("erin@example.com", "wait")
    state, factor = _mfa(served, "erin@example.com", "Erin-DEV-only-1")
    assert _verify(served, factor, state).json()["factorResult"] == "WAITING"
    served.clock.advance(299)
    assert _verify(served, factor, state).json()["factorResult"] == "WAITING"
    served.clock.advance(1)
    timed_out = _verify(served, factor, state).json()
    assert timed_out["factorResult"] == "TIMEOUT"
    # A new verify sends a new push, which waits again.
    assert _verify(served, factor, state).json()["factorResult"] == "WAITING"
