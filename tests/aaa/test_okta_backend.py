"""Okta behaviour through the dev IdP: MFA (appended OTP, push), 429 on groups, circuit breaker + cache."""

from __future__ import annotations

import pytest
from tests.aaa.conftest import BREAKGLASS_PASSWORD, PASSWORDS, ClockSleeper, running_aaa
from tests.support.idp_server import ServedIdP

from authgate.clock import ManualClock
from authgate.idp.endpoints.authn import authn_service, totp_code

pytestmark = pytest.mark.anyio
GROUPS_PATH = "/api/v1/users/*/groups"


def _code(idp: ServedIdP, step_offset: int = 0) -> str:
    return totp_code("JBSWY3DPEHPK3PXP", int(idp.idp.clock.time() // 30) + step_offset)


def _count(idp: ServedIdP, suffix: str) -> int:
    return len([r for r in idp.idp.request_log.records() if r.path.endswith(suffix)])


async def test_appended_otp_accepts_once_and_is_never_cached(idp) -> None:
    async with running_aaa(idp.url) as aaa:
        service = aaa.runtime.service
        combined = PASSWORDS["carol"] + _code(idp)
        first = await service.authenticate("carol", combined, protocol="radius")
        assert (first.outcome, first.privilege, first.source) == ("accept", 1, "okta")
        again = await service.authenticate("carol", combined, protocol="radius")
        assert again.outcome == "reject"  # Okta refuses the replayed code; the cache never had it
        assert aaa.metric("aaa_auth_cache_answers_total", protocol="radius", kind="fresh") == 0


async def test_otp_with_separator(idp) -> None:
    async with running_aaa(idp.url, {"mfa": {"otp_separator": ","}}) as aaa:
        service = aaa.runtime.service
        wrong = await service.authenticate(
            "carol", PASSWORDS["carol"] + ",000000", protocol="tacacs"
        )
        assert wrong.outcome == "reject"
        good = await service.authenticate(
            "carol", f"{PASSWORDS['carol']},{_code(idp, 1)}", protocol="tacacs"
        )
        assert good.outcome == "accept"


async def test_push_approve_reject_and_timeout(idp) -> None:
    clock = ManualClock()
    sleeper = ClockSleeper(clock)
    async with running_aaa(idp.url, clock=clock, sleeper=sleeper) as aaa:
        service = aaa.runtime.service
        approved = await service.authenticate("erin", PASSWORDS["erin"], protocol="radius")
        assert approved.outcome == "accept"
        authn_service(idp.idp).set_push_answer("erin@example.com", "reject")
        rejected = await service.authenticate("erin", PASSWORDS["erin"], protocol="radius")
        assert rejected.outcome == "reject"
        authn_service(idp.idp).set_push_answer("erin@example.com", "wait")
        sleeper.waits.clear()
        timed_out = await service.authenticate("erin", PASSWORDS["erin"], protocol="radius")
        assert timed_out.outcome == "reject"
        assert 10 <= sum(sleeper.waits) <= 11  # polled until push_timeout, on the injected clock
        # push results are never cached: a correct password alone does not pass later
        authn_service(idp.idp).set_push_answer("erin@example.com", "reject")
        assert (
            await service.authenticate("erin", PASSWORDS["erin"], protocol="radius")
        ).outcome == "reject"


async def test_locked_user_and_local_backend_order(idp) -> None:
    async with running_aaa(idp.url) as aaa:
        service = aaa.runtime.service
        assert (
            await service.authenticate("dave", PASSWORDS["dave"], protocol="radius")
        ).outcome == "reject"
        before = _count(idp, "/api/v1/authn")
        local = await service.authenticate("breakglass", BREAKGLASS_PASSWORD, protocol="radius")
        assert (local.outcome, local.source, local.privilege) == ("accept", "local", 15)
        bad = await service.authenticate("breakglass", "nope", protocol="radius")
        assert bad.outcome == "reject"
        assert _count(idp, "/api/v1/authn") == before  # a local user never reaches Okta


async def test_require_group_for_auth(idp) -> None:
    only_admins = {"group_privilege_map": {"network-admins": 15}}
    async with running_aaa(idp.url, only_admins) as aaa:
        service = aaa.runtime.service
        bob = await service.authenticate("bob", PASSWORDS["bob"], protocol="radius")
        assert (bob.outcome, bob.code) == ("reject", "auth.privilege_too_low")
        alice = await service.authenticate("alice", PASSWORDS["alice"], protocol="radius")
        assert alice.privilege == 15  # group names match case-insensitively
    relaxed = {**only_admins, "require_group_for_auth": False, "default_privilege": 1}
    async with running_aaa(idp.url, relaxed) as aaa:
        bob = await aaa.runtime.service.authenticate("bob", PASSWORDS["bob"], protocol="radius")
        assert (bob.outcome, bob.privilege) == ("accept", 1)


async def test_groups_429_short_retry_after_is_retried(idp) -> None:
    clock = ManualClock()
    async with running_aaa(idp.url, clock=clock, sleeper=ClockSleeper(clock)) as aaa:
        idp.idp.faults.add(GROUPS_PATH, status=429, headers={"Retry-After": "1"}, count=1)
        decision = await aaa.runtime.service.authenticate(
            "bob", PASSWORDS["bob"], protocol="radius"
        )
        assert (decision.outcome, decision.privilege) == ("accept", 7)
        assert aaa.metric("okta_retries_total", outcome="429") == 1
        assert aaa.sleeper is not None
        assert aaa.sleeper.waits
        assert 1 <= aaa.sleeper.waits[0] < 1.2


async def test_groups_429_long_retry_after_stretches_negative_cache(idp) -> None:
    clock = ManualClock()
    async with running_aaa(idp.url, clock=clock, sleeper=ClockSleeper(clock)) as aaa:
        service = aaa.runtime.service
        idp.idp.faults.add(GROUPS_PATH, status=429, headers={"Retry-After": "120"}, count=1)
        first = await service.authenticate("bob", PASSWORDS["bob"], protocol="radius")
        assert (first.outcome, first.code) == ("reject", "okta.rate_limited")
        calls = _count(idp, "/groups")
        clock.advance(60)  # longer than the 30 s negative TTL, shorter than Retry-After
        second = await service.authenticate("bob", PASSWORDS["bob"], protocol="radius")
        assert second.code == "okta.rate_limited"
        assert _count(idp, "/groups") == calls  # remembered: Okta was not asked again
        clock.advance(61)
        third = await service.authenticate("bob", PASSWORDS["bob"], protocol="radius")
        assert (third.outcome, third.privilege) == ("accept", 7)


@pytest.mark.parametrize("behaviour", ["reject", "cache"])
async def test_okta_down_opens_circuit_and_cache_answers_as_configured(idp, behaviour: str) -> None:
    clock = ManualClock()
    config = {"circuit_behaviour": behaviour, "cache": {"ttl": 60, "stale_ttl": 600}}
    async with running_aaa(idp.url, config, clock=clock, sleeper=ClockSleeper(clock)) as aaa:
        service = aaa.runtime.service
        assert (
            await service.authenticate("bob", PASSWORDS["bob"], protocol="radius")
        ).outcome == "accept"
        clock.advance(120)  # bob's entry is now stale: usable only during an outage
        idp.idp.faults.add("/api/v1/authn", status=503, count=1000)
        down = await service.authenticate("alice", PASSWORDS["alice"], protocol="radius")
        assert down.outcome == "reject"
        assert down.code == "okta.unavailable"
        assert aaa.metric("okta_circuit_open", upstream="okta") == 1
        sent = _count(idp, "/api/v1/authn")
        fast = await service.authenticate("alice", PASSWORDS["alice"], protocol="radius")
        assert fast.code == "okta.circuit_open"
        assert _count(idp, "/api/v1/authn") == sent  # failing fast: Okta is not called
        stale = await service.authenticate("bob", PASSWORDS["bob"], protocol="radius")
        if behaviour == "cache":
            assert (stale.outcome, stale.source, stale.privilege) == ("accept", "stale-cache", 7)
            assert aaa.metric("aaa_auth_cache_answers_total", protocol="radius", kind="stale") == 1
        else:
            assert (stale.outcome, stale.code) == ("reject", "okta.circuit_open")
        wrong = await service.authenticate("bob", "not-his-password", protocol="radius")
        assert wrong.outcome == "reject"  # the stale cache only ever confirms the same password
        idp.idp.faults.clear()
        clock.advance(31)  # cooldown over: the next call probes and closes the circuit
        assert (
            await service.authenticate("alice", PASSWORDS["alice"], protocol="radius")
        ).outcome == "accept"
        assert aaa.metric("okta_circuit_open", upstream="okta") == 0


async def test_warm_cache_answers_without_okta(idp) -> None:
    async with running_aaa(idp.url) as aaa:
        service = aaa.runtime.service
        await service.authenticate("alice", PASSWORDS["alice"], protocol="radius")
        calls = _count(idp, "/api/v1/authn")
        hit = await service.authenticate("alice", PASSWORDS["alice"], protocol="tacacs")
        assert (hit.outcome, hit.source, hit.privilege) == ("accept", "cache", 15)
        assert _count(idp, "/api/v1/authn") == calls
        miss = await service.authenticate("alice", PASSWORDS["alice"] + "x", protocol="tacacs")
        assert miss.outcome == "reject"


async def test_password_grant_method(idp) -> None:
    app = idp.idp.config.app("demo-native")
    ropc = {
        "okta": {
            "method": "password",
            "client_id": app.client_id,
            "client_secret": "demo-native-secret-DEV-ONLY-0123456789abcdef",
        }
    }
    async with running_aaa(idp.url, ropc) as aaa:
        service = aaa.runtime.service
        good = await service.authenticate("bob", PASSWORDS["bob"], protocol="radius")
        assert (good.outcome, good.privilege) == ("accept", 7)
        bad = await service.authenticate("bob", "wrong", protocol="radius")
        assert (bad.outcome, bad.code) == ("reject", "okta.invalid_grant")
        assert aaa.metric("okta_token_requests_total", grant="password", outcome="ok") == 1
