"""Bootstrap token: exact match in constant time, expiry with an audit event, start warning."""

from __future__ import annotations

import logging

import pytest

from authgate.authn.base import Credential
from authgate.authn.bootstrap import BootstrapAuthenticator
from authgate.clock import ManualClock
from authgate.errors import AuthError, ConfigError, ErrorCode
from authgate.fingerprint import fingerprint
from authgate.observability.audit import AuditedAuthenticator, AuditEvent, AuditLog
from authgate.principal import PrincipalKind
from authgate.service_tokens.format import generate_bootstrap_token
from authgate.service_tokens.settings import ADMIN_SCOPES, TokenSettings

pytestmark = pytest.mark.anyio


class ListSink:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    async def write(self, events: list[AuditEvent]) -> None:
        self.events.extend(events)


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> TokenSettings:
    for name, value in env.items():
        monkeypatch.setenv(f"AUTHGATE_{name.upper()}", value)
    return TokenSettings.load()


async def test_configured_token_authenticates_with_admin_scopes(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = generate_bootstrap_token()
    with caplog.at_level(logging.WARNING, logger="authgate.authn.bootstrap"):
        auth = BootstrapAuthenticator.from_settings(settings(monkeypatch, bootstrap_token=token))
    assert auth is not None
    assert "bootstrap token" in caplog.text
    assert fingerprint(token) in caplog.text
    assert token not in caplog.text
    principal = await auth.authenticate(Credential(token))
    assert principal is not None
    assert principal.subject == "bootstrap"
    assert principal.credential == "bootstrap"
    assert principal.kind is PrincipalKind.SERVICE
    assert principal.scopes == frozenset(ADMIN_SCOPES)


async def test_other_tokens_are_not_mine_or_refused() -> None:
    auth = BootstrapAuthenticator(generate_bootstrap_token(), scopes=["admin:tokens:read"])
    assert await auth.authenticate(Credential("ag_svc_xyz")) is None
    assert await auth.authenticate(Credential("eyJ.e30.sig")) is None
    with pytest.raises(AuthError) as info:
        await auth.authenticate(Credential(generate_bootstrap_token()))
    assert info.value.code is ErrorCode.INVALID_SERVICE_TOKEN


def test_no_setting_means_no_authenticator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTHGATE_BOOTSTRAP_TOKEN", raising=False)
    assert BootstrapAuthenticator.from_settings(TokenSettings.load()) is None


@pytest.mark.parametrize(
    ("value", "epoch"),
    [("1700000600", 1_700_000_600.0), ("2023-11-14T22:23:20Z", 1_700_000_600.0),
     ("2023-11-14T23:23:20+01:00", 1_700_000_600.0), ("2023-11-14T22:23:20", 1_700_000_600.0)],
)  # fmt: skip
def test_expiry_accepts_iso_8601_and_epoch(
    monkeypatch: pytest.MonkeyPatch, value: str, epoch: float
) -> None:
    s = settings(
        monkeypatch,
        bootstrap_token=generate_bootstrap_token(),
        bootstrap_token_expires_at=value,
        bootstrap_token_scopes="admin:tokens:read, admin:tokens:write",
    )
    assert s.bootstrap_token_expires_at == epoch
    assert s.bootstrap_token_scopes == ["admin:tokens:read", "admin:tokens:write"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("bootstrap_token", "short"), ("bootstrap_token", "x" * 60),
     ("bootstrap_token_expires_at", "tomorrow"), ("trusted_proxies", "10.0.0.0/40"),
     ("token_store_url", "mysql://x/y"), ("limiter_interval", "-1")],
)  # fmt: skip
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as info:
        settings(monkeypatch, **{name: value})
    assert info.value.setting == f"AUTHGATE_{name.upper()}"
    assert value not in str(info.value) or name != "bootstrap_token"


async def test_expired_bootstrap_token_fails_and_is_audited() -> None:
    clock = ManualClock()
    token = generate_bootstrap_token()
    sink = ListSink()
    audit = AuditLog([sink], clock=clock)
    auth = AuditedAuthenticator(
        BootstrapAuthenticator(
            token, scopes=ADMIN_SCOPES, expires_at=clock.time() + 10, clock=clock
        ),
        audit,
    )
    assert await auth.authenticate(Credential(token, client_ip="192.0.2.1")) is not None
    clock.advance(10)
    with pytest.raises(AuthError) as info:
        await auth.authenticate(Credential(token, client_ip="192.0.2.1"))
    assert info.value.code is ErrorCode.TOKEN_EXPIRED
    await audit.aclose()
    assert [(e.outcome, e.code) for e in sink.events] == [
        ("success", None),
        ("failure", "auth.token_expired"),
    ]
    failure = sink.events[1]
    assert failure.subject == "bootstrap"
    assert failure.token_fingerprint == fingerprint(token)
    assert failure.client_ip == "192.0.2.1"
    assert token not in repr(sink.events)
