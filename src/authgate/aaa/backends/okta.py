"""Okta password backend: Authentication API (``/api/v1/authn``, okta-wire §4) or ROPC (RFC 6749 §4.3).

The authn API is the default because Okta prefers it and it works where ROPC is disabled; it is
also the only way to MFA: a TOTP code appended to the password or asked for in a challenge,
and Okta Verify push polled until approved, rejected or ``push_timeout``. Groups come from the
Management API through the Okta client's :class:`~authgate.okta.groups.GroupCache` (TTL,
negative TTL stretched by ``Retry-After``), and every call rides one
:class:`~authgate.okta.transport.ResilientTransport` — retries, limiter, and the circuit breaker
whose state is ``okta_circuit_open``. Okta's ``stateToken`` stays in the challenge context on
the server; the device only ever sees our own random ``State``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson

from authgate.aaa.backends.base import AuthResult, Challenge, Outcome
from authgate.aaa.config import MfaSettings, OktaSettings
from authgate.clock import Clock, system_clock
from authgate.errors import ErrorCode
from authgate.fingerprint import fingerprint
from authgate.okta.errors import OktaError
from authgate.okta.groups import GroupCache
from authgate.okta.management import ManagementClient, SSWSAuth
from authgate.okta.metrics import OktaMetrics
from authgate.okta.resilience import RetryPolicy
from authgate.okta.transport import (
    ResilienceConfig,
    ResilientTransport,
    Sleeper,
    make_async_client,
)

__all__ = ["OktaBackend"]

log = logging.getLogger("authgate.aaa.okta")
_PASSCODE_FACTORS = ("token:software:totp", "token:hotp", "token")


@dataclass(frozen=True, slots=True)
class _Pending:
    """Where an MFA transaction stands; kept server-side only."""

    login: str
    user_id: str
    state_token: str
    verify_url: str


class OktaBackend:
    """Okta users; ``name`` is ``okta``."""

    name = "okta"

    def __init__(
        self,
        settings: OktaSettings,
        mfa: MfaSettings,
        *,
        clock: Clock = system_clock,
        metrics: OktaMetrics,
        sleeper: Sleeper | None = None,
    ) -> None:
        self.settings, self.mfa, self.clock, self.metrics = settings, mfa, clock, metrics
        self.org_url = settings.org_url.rstrip("/")
        config = ResilienceConfig(
            retry=RetryPolicy(retries=2, max_wait=settings.group_retry_max_wait),
            connect_timeout=settings.timeout,
            read_timeout=settings.timeout,
            breaker_threshold=settings.circuit_threshold,
            breaker_cooldown=settings.circuit_cooldown,
        )
        self.transport = ResilientTransport(
            config=config, clock=clock, sleeper=sleeper, metrics=metrics, name="okta"
        )
        self._http = make_async_client(self.transport, headers={"Accept": "application/json"})
        self.management = ManagementClient(
            self.org_url, SSWSAuth(settings.token().decode()), transport=self.transport
        )
        self.group_cache = GroupCache(
            self._fetch_groups,
            ttl=settings.group_ttl,
            negative_ttl=settings.group_negative_ttl,
            clock=clock,
            metrics=metrics,
        )

    # -- helpers -----------------------------------------------------------------------------
    def login(self, username: str) -> str:
        suffix = self.settings.login_suffix
        return username if not suffix or "@" in username else username + suffix

    async def _fetch_groups(self, user: str) -> list[str]:
        return [g.name for g in await self.management.user_groups(user)]

    def _split_otp(self, password: str) -> tuple[str, str] | None:
        sep, length = self.mfa.otp_separator, self.mfa.otp_length
        code = password[-length:]
        rest = password[: -length - len(sep)] if len(password) > length + len(sep) else ""
        if not rest or not code.isdigit() or not code.isascii():
            return None
        if sep and password[-length - len(sep) : -length] != sep:
            return None
        return rest, code

    async def _post(self, url: str, body: dict[str, Any], grant: str) -> tuple[int, dict[str, Any]]:
        started = time.perf_counter()
        outcome = "error"
        try:
            response = await self._http.post(
                url, content=orjson.dumps(body), headers={"Content-Type": "application/json"}
            )
            outcome = "ok" if response.status_code == 200 else str(response.status_code)
            try:
                data = orjson.loads(response.content) if response.content else {}
            except orjson.JSONDecodeError:
                data = {}
            return response.status_code, data if isinstance(data, dict) else {}
        finally:
            self.metrics.token_requests.labels(grant, outcome).inc()
            self.metrics.token_latency.labels(grant, outcome).observe(time.perf_counter() - started)

    async def _accept(
        self, login: str, user_id: str, *, cacheable: bool, exp: float | None = None
    ) -> AuthResult:
        try:
            groups = frozenset(await self.group_cache.groups(user_id))
        except OktaError as exc:
            return _unavailable(login, exc)
        return AuthResult(Outcome.ACCEPT, login, groups, cacheable=cacheable, expires_at=exp)

    # -- PasswordBackend ---------------------------------------------------------------------
    async def authenticate(self, username: str, password: str) -> AuthResult:
        login = self.login(username)
        try:
            if self.settings.method == "password":
                return await self._ropc(login, password)
            split = self._split_otp(password)
            if split is not None:
                result = await self._authn(login, split[0], split[1])
                if result.outcome is not Outcome.REJECT or result.code != str(
                    ErrorCode.OKTA_INVALID_GRANT
                ):
                    return result
            return await self._authn(login, password, None)
        except OktaError as exc:
            return _unavailable(login, exc)

    async def _authn(self, login: str, password: str, otp: str | None) -> AuthResult:
        status, body = await self._post(
            f"{self.org_url}/api/v1/authn", {"username": login, "password": password}, "authn"
        )
        if status == 401:
            return AuthResult(Outcome.REJECT, login, code=ErrorCode.OKTA_INVALID_GRANT)
        if status != 200:
            return _http_unavailable(login, status)
        state = body.get("status")
        user_id = str(((body.get("_embedded") or {}).get("user") or {}).get("id") or login)
        if state == "SUCCESS":
            return await self._accept(login, user_id, cacheable=otp is None)
        if state != "MFA_REQUIRED":
            log.info("okta authn for %s ended in %s", fingerprint(login), state)
            return AuthResult(
                Outcome.REJECT, login, code=ErrorCode.ACCESS_DENIED, extra={"okta_status": state}
            )
        factors = [
            f for f in (body.get("_embedded") or {}).get("factors") or [] if isinstance(f, dict)
        ]
        token = str(body.get("stateToken", ""))
        passcode = next((f for f in factors if f.get("factorType") in _PASSCODE_FACTORS), None)
        push = next((f for f in factors if f.get("factorType") == "push"), None)
        if otp is not None and passcode is not None:
            return await self._verify(_Pending(login, user_id, token, _verify_url(passcode)), otp)
        if push is not None and self.mfa.push:
            return await self._push(_Pending(login, user_id, token, _verify_url(push)))
        if passcode is not None:
            pending = _Pending(login, user_id, token, _verify_url(passcode))
            return AuthResult(
                Outcome.CHALLENGE,
                login,
                challenge=Challenge("one-time code", pending),
                cacheable=False,
            )
        return AuthResult(
            Outcome.REJECT,
            login,
            code=ErrorCode.ACCESS_DENIED,
            extra={"okta_status": "MFA_UNSUPPORTED"},
        )

    async def _verify(self, pending: _Pending, code: str) -> AuthResult:
        status, body = await self._post(
            pending.verify_url, {"stateToken": pending.state_token, "passCode": code}, "authn"
        )
        if status == 200 and body.get("status") == "SUCCESS":
            return await self._accept(pending.login, pending.user_id, cacheable=False)
        if status in (401, 403):
            return AuthResult(
                Outcome.REJECT, pending.login, code=ErrorCode.ACCESS_DENIED, cacheable=False
            )
        return _http_unavailable(pending.login, status)

    async def _push(self, pending: _Pending) -> AuthResult:
        deadline = self.clock.monotonic() + self.mfa.push_timeout
        while True:
            status, body = await self._post(
                pending.verify_url, {"stateToken": pending.state_token}, "authn"
            )
            if status != 200:
                return _http_unavailable(pending.login, status)
            if body.get("status") == "SUCCESS":
                return await self._accept(pending.login, pending.user_id, cacheable=False)
            result = body.get("factorResult")
            if result != "WAITING" or self.clock.monotonic() >= deadline:
                outcome = result if result != "WAITING" else "TIMEOUT"
                return AuthResult(
                    Outcome.REJECT,
                    pending.login,
                    code=ErrorCode.ACCESS_DENIED,
                    cacheable=False,
                    extra={"push": outcome},
                )
            await self.transport.sleeper.asleep(self.mfa.push_poll_interval)

    async def _ropc(self, login: str, password: str) -> AuthResult:
        url = f"{self.org_url}/oauth2/{self.settings.auth_server}/v1/token"
        secret = self.settings.client_secret
        secret_value = secret.get_secret_value() if secret else ""
        if self.settings.client_secret_env:
            import os

            secret_value = os.environ.get(self.settings.client_secret_env, "")
        form = {
            "grant_type": "password",
            "username": login,
            "password": password,
            "scope": self.settings.scope,
        }
        started = time.perf_counter()
        response = await self._http.post(
            url, data=form, auth=(self.settings.client_id or "", secret_value)
        )
        outcome = "ok" if response.status_code == 200 else str(response.status_code)
        self.metrics.token_requests.labels("password", outcome).inc()
        self.metrics.token_latency.labels("password", outcome).observe(
            time.perf_counter() - started
        )
        if response.status_code == 400:
            return AuthResult(Outcome.REJECT, login, code=ErrorCode.OKTA_INVALID_GRANT)
        if response.status_code != 200:
            return _http_unavailable(login, response.status_code)
        body = orjson.loads(response.content)
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        exp = self.clock.time() + float(expires_in) if isinstance(expires_in, int | float) else None
        return await self._accept(login, login, cacheable=True, exp=exp)

    async def answer_challenge(self, context: Any, response: str) -> AuthResult:
        if not isinstance(context, _Pending):
            return AuthResult(Outcome.REJECT, "", code=ErrorCode.INVALID_REQUEST)
        try:
            return await self._verify(context, response.strip())
        except OktaError as exc:
            return _unavailable(context.login, exc)

    async def groups_for(self, username: str) -> AuthResult:
        login = self.login(username)
        try:
            groups = await self.group_cache.groups(login)
        except OktaError as exc:
            if exc.code is ErrorCode.OKTA_NOT_FOUND:
                return AuthResult(Outcome.NOT_FOUND, login)
            return _unavailable(login, exc)
        return AuthResult(Outcome.ACCEPT, login, frozenset(groups))

    def circuit_open(self) -> bool:
        return self.transport.breaker.state != "closed"

    async def aclose(self) -> None:
        await self._http.aclose()
        await self.management.aclose()
        await self.transport.aclose()


def _verify_url(factor: dict[str, Any]) -> str:
    return str(((factor.get("_links") or {}).get("verify") or {}).get("href", ""))


def _unavailable(login: str, exc: OktaError) -> AuthResult:
    return AuthResult(
        Outcome.UNAVAILABLE, login, code=exc.code, retry_after=exc.retry_after, cacheable=False
    )


def _http_unavailable(login: str, status: int) -> AuthResult:
    code = ErrorCode.OKTA_RATE_LIMITED if status == 429 else ErrorCode.OKTA_UNAVAILABLE
    return AuthResult(Outcome.UNAVAILABLE, login, code=code, cacheable=False)
