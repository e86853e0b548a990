"""The AAA decision service shared by the RADIUS (RFC 2865) and TACACS+ (RFC 8907) servers.

Protocol-free: it takes a username and password (or a challenge answer, or authorization
arguments) and returns a :class:`Decision`. It tries the backends in the configured order,
consults the auth cache, applies the circuit-breaker policy (``reject`` or ``cache``: accept
stale cache entries while Okta is unavailable), maps groups to a privilege level, keeps
pending one-time-code challenges, and writes one audit event and the metrics per decision.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from authgate.aaa.auth_cache import AuthCache
from authgate.aaa.backends.base import AuthResult, Challenge, Outcome, PasswordBackend
from authgate.aaa.config import AAAConfig
from authgate.aaa.metrics import AAAMetrics
from authgate.aaa.privilege import CommandPolicy, CommandRule, PrivilegeMap, command_line
from authgate.clock import Clock, system_clock
from authgate.errors import AuthError, ErrorCode
from authgate.observability.audit import AuditLog

__all__ = ["AAAProtocol", "AAAService", "AuthzDecision", "Decision"]

AAAProtocol = Literal["radius", "tacacs"]
_MAX_GROUP_SETS = 4096


@dataclass(frozen=True, slots=True)
class Decision:
    """``accept`` (with ``privilege``), ``reject`` (``code`` says why, never sent to the device)
    or ``challenge`` (``state`` identifies the pending exchange; ``message`` is the prompt)."""

    outcome: Literal["accept", "reject", "challenge"]
    username: str
    privilege: int | None = None
    groups: frozenset[str] = frozenset()
    code: str | None = None
    message: str = ""
    state: bytes | None = None
    source: str = ""  # backend name, "cache" or "stale-cache"


@dataclass(frozen=True, slots=True)
class AuthzDecision:
    allowed: bool
    privilege: int | None = None
    attributes: tuple[str, ...] = ()
    code: str | None = None


@dataclass(slots=True)
class _Pending:
    backend: PasswordBackend
    context: Any
    username: str
    expires: float
    tries: int = 0


@dataclass
class _Bounded:
    """An insertion-ordered map with a size bound and per-entry deadline (monotonic)."""

    limit: int
    items: OrderedDict[Any, tuple[float, Any]] = field(default_factory=OrderedDict)

    def put(self, key: Any, value: Any, until: float) -> None:
        self.items[key] = (until, value)
        self.items.move_to_end(key)
        while len(self.items) > self.limit:
            self.items.popitem(last=False)

    def get(self, key: Any, now: float) -> Any:
        found = self.items.get(key)
        if found is None:
            return None
        if found[0] <= now:
            del self.items[key]
            return None
        return found[1]

    def pop(self, key: Any) -> Any:
        found = self.items.pop(key, None)
        return found[1] if found else None


class AAAService:
    """Decisions for both servers; ``aclose()`` closes the backends, the cache and the audit log."""

    def __init__(
        self,
        config: AAAConfig,
        backends: Sequence[PasswordBackend],
        *,
        cache: AuthCache | None,
        audit: AuditLog | None,
        metrics: AAAMetrics,
        clock: Clock = system_clock,
    ) -> None:
        self.config, self.backends, self.cache, self.audit = config, tuple(backends), cache, audit
        self.metrics, self.clock = metrics, clock
        self.privileges = PrivilegeMap(
            config.group_privilege_map,
            default=config.default_privilege,
            require_mapped=config.require_group_for_auth,
        )
        self.commands = CommandPolicy(
            CommandRule(r.pattern, r.min_privilege, r.allow) for r in config.command_rules
        )
        self._challenges = _Bounded(config.radius.max_challenges)
        self._recent = _Bounded(10_000)  # username → groups of a recent accept, for authorization
        self._peek = getattr(cache, "peek", None)
        # Worker processes: State starts with the worker's index, so the answer to a challenge
        # can be relayed to the process that holds it (see authgate.aaa.workers).
        self.state_prefix = b""
        # groups → level or the refusal: a NAS fleet logs in the same few group sets all day
        self._levels: dict[frozenset[str], int | AuthError | None] = {}

    # -- authentication ----------------------------------------------------------------------
    async def authenticate(
        self, username: str, password: str, *, protocol: AAAProtocol, client_ip: str | None = None
    ) -> Decision:
        started = time.perf_counter()
        self.metrics.requests.labels(protocol, "authn").inc()
        decision = await self._authenticate(username, password, protocol)
        self._finish(decision, protocol, client_ip, started)
        return decision

    def cached(
        self, username: str, password: str, *, protocol: AAAProtocol, client_ip: str | None = None
    ) -> Decision | None:
        """A fresh in-memory cache hit decided synchronously (no task, no await), else None.

        The hot path of a busy NAS: the same operators re-authenticating all day.
        """
        peek = self._peek
        if peek is None or not username or not password:
            return None
        hit = peek(username, password)
        if hit is None:
            return None
        started = time.perf_counter()
        self.metrics.requests.labels(protocol, "authn").inc()
        self.metrics.cache_answers.labels(protocol, "fresh").inc()
        decision = self._grant(username, hit.groups, "cache")
        self._finish(decision, protocol, client_ip, started)
        return decision

    async def answer_challenge(
        self, state: bytes, response: str, *, protocol: AAAProtocol, client_ip: str | None = None
    ) -> Decision:
        started = time.perf_counter()
        self.metrics.requests.labels(protocol, "authn").inc()
        pending: _Pending | None = self._challenges.pop(state)
        if pending is None or pending.expires <= self.clock.monotonic():
            decision = Decision("reject", "", code=ErrorCode.INVALID_REQUEST)
        else:
            result = await pending.backend.answer_challenge(pending.context, response)
            decision = self._from_result(result, pending.backend.name, protocol)
            if decision.outcome == "accept":
                decision = dataclasses.replace(decision, username=pending.username)
        self._finish(decision, protocol, client_ip, started)
        return decision

    async def _authenticate(self, username: str, password: str, protocol: AAAProtocol) -> Decision:
        if not username or not password:
            return Decision("reject", username, code=ErrorCode.INVALID_REQUEST)
        if self.cache is not None:
            hit = await self.cache.get(username, password, allow_stale=False)
            if hit is not None:
                self.metrics.cache_answers.labels(protocol, "fresh").inc()
                return self._grant(username, hit.groups, "cache")
        for backend in self.backends:
            result = await backend.authenticate(username, password)
            if result.outcome is Outcome.NOT_FOUND:
                continue
            if result.outcome is Outcome.UNAVAILABLE:
                return await self._outage(username, password, result, protocol)
            decision = self._from_result(result, backend.name, protocol, username=username)
            if decision.outcome == "accept" and result.cacheable and self.cache is not None:
                await self.cache.put(
                    username,
                    password,
                    decision.groups,
                    decision.privilege,
                    expires_hint=result.expires_at,
                )
            if decision.outcome == "challenge" and result.challenge is not None:
                return self._challenge(backend, result.challenge, username, protocol)
            return decision
        return Decision("reject", username, code=ErrorCode.ACCESS_DENIED)

    async def _outage(
        self, username: str, password: str, result: AuthResult, protocol: AAAProtocol
    ) -> Decision:
        """Okta could not answer: reject, or (policy ``cache``) accept a stale cached success."""
        if self.config.circuit_behaviour == "cache" and self.cache is not None:
            hit = await self.cache.get(username, password, allow_stale=True)
            if hit is not None:
                self.metrics.cache_answers.labels(protocol, "stale").inc()
                return self._grant(username, hit.groups, "stale-cache")
        return Decision("reject", username, code=result.code or ErrorCode.OKTA_UNAVAILABLE)

    def _from_result(
        self, result: AuthResult, source: str, protocol: AAAProtocol, *, username: str | None = None
    ) -> Decision:
        name = username or result.username
        if result.outcome is Outcome.ACCEPT:
            return self._grant(name, result.groups, source)
        if result.outcome is Outcome.CHALLENGE:
            return Decision("challenge", name, source=source)
        return Decision("reject", name, code=result.code or ErrorCode.ACCESS_DENIED, source=source)

    def _level(self, groups: frozenset[str]) -> int | AuthError | None:
        if groups in self._levels:
            return self._levels[groups]
        found: int | AuthError | None
        try:
            found = self.privileges.level(groups)
        except AuthError as exc:
            found = exc
        if len(self._levels) >= _MAX_GROUP_SETS:
            self._levels.clear()
        self._levels[groups] = found
        return found

    def _grant(self, username: str, groups: frozenset[str], source: str) -> Decision:
        level = self._level(groups)
        if isinstance(level, AuthError):
            return Decision("reject", username, groups=groups, code=level.code, source=source)
        privilege = level if level is not None else 1
        until = self.clock.monotonic() + self.config.cache.ttl
        self._recent.put(username, groups, until)
        return Decision("accept", username, privilege, groups, source=source)

    def _challenge(
        self, backend: PasswordBackend, challenge: Challenge, username: str, protocol: AAAProtocol
    ) -> Decision:
        state = self.state_prefix + secrets.token_bytes(16 - len(self.state_prefix))
        deadline = self.clock.monotonic() + self.config.radius.challenge_ttl
        pending = _Pending(backend, challenge.context, username, deadline)
        self._challenges.put(state, pending, deadline)
        self.metrics.challenges.labels(protocol).inc()
        message = self.config.replies.challenge_message
        return Decision("challenge", username, message=message, state=state, source=backend.name)

    def _finish(
        self, decision: Decision, protocol: AAAProtocol, client_ip: str | None, started: float
    ) -> None:
        self.metrics.latency.labels(protocol, "authn").observe(time.perf_counter() - started)
        if decision.outcome == "accept":
            self.metrics.accepts.labels(protocol).inc()
        elif decision.outcome == "reject":
            self.metrics.rejects.labels(protocol, str(decision.code)).inc()
        if self.audit is not None and decision.outcome != "challenge":
            self.audit.record(
                "authn",
                "success" if decision.outcome == "accept" else "failure",
                code=str(decision.code) if decision.code else None,
                subject=decision.username or None,
                client_ip=client_ip,
                route=protocol,
                detail={"source": decision.source, "privilege": decision.privilege},
            )

    # -- authorization -----------------------------------------------------------------------
    async def authorize(
        self, username: str, args: Sequence[str], *, protocol: AAAProtocol, client_ip: str | None
    ) -> AuthzDecision:
        """TACACS+ authorization: a shell start gets ``priv-lvl``; a command is checked by rule."""
        self.metrics.requests.labels(protocol, "authz").inc()
        decision = await self._authorize(username, args)
        if not decision.allowed:
            self.metrics.rejects.labels(protocol, str(decision.code)).inc()
        if self.audit is not None:
            self.audit.record(
                "authz",
                "success" if decision.allowed else "failure",
                code=str(decision.code) if decision.code else None,
                subject=username or None,
                client_ip=client_ip,
                route=protocol,
                detail={"command": command_line(args), "privilege": decision.privilege},
            )
        return decision

    async def _authorize(self, username: str, args: Sequence[str]) -> AuthzDecision:
        groups: frozenset[str] | None = self._recent.get(username, self.clock.monotonic())
        for backend in self.backends if groups is None else ():
            result = await backend.groups_for(username)
            if result.outcome is Outcome.ACCEPT:
                groups = result.groups
                break
            if result.outcome is not Outcome.NOT_FOUND:
                return AuthzDecision(False, code=result.code or ErrorCode.OKTA_UNAVAILABLE)
        if groups is None:
            return AuthzDecision(False, code=ErrorCode.ACCESS_DENIED)
        try:
            level = self.privileges.level(groups)
        except AuthError as exc:
            return AuthzDecision(False, code=exc.code)
        privilege = level if level is not None else 1
        command = command_line(args)
        if command is not None:
            if self.commands.allows(privilege, command):
                return AuthzDecision(True, privilege)
            return AuthzDecision(False, privilege, code=ErrorCode.PRIVILEGE_TOO_LOW)
        values = {"privilege": privilege, "username": username}
        attrs = tuple(t.format(**values) for t in self.config.tacacs.service_attributes)
        return AuthzDecision(True, privilege, attrs)

    # -- accounting --------------------------------------------------------------------------
    def account(
        self,
        protocol: AAAProtocol,
        username: str,
        status: str,
        attributes: Mapping[str, Any],
        *,
        client_ip: str | None,
    ) -> None:
        """One ``accounting`` audit event per record (RFC 2866 §5.1 / RFC 8907 §7.1 status)."""
        self.metrics.requests.labels(protocol, "acct").inc()
        if self.audit is not None:
            self.audit.record(
                "accounting",
                "success",
                subject=username or None,
                client_ip=client_ip,
                route=protocol,
                detail={"status": status, **attributes},
            )

    def circuit_open(self) -> bool:
        return any(getattr(b, "circuit_open", lambda: False)() for b in self.backends)

    async def aclose(self) -> None:
        for backend in self.backends:
            await backend.aclose()
        if self.cache is not None:
            await self.cache.aclose()
        if self.audit is not None:
            await self.audit.aclose()
