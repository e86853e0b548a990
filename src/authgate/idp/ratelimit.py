"""Okta-style rate limits (okta-wire §5.5) as a pure ASGI middleware around the dev IdP.

Real Okta answers every API call with ``X-Rate-Limit-Limit/-Remaining/-Reset``, counts per
endpoint family in per-minute buckets (matched by exact path, then longest prefix, per method),
and refuses with ``429 E0000047``. Clients such as Okta's SDK only retry when both ``Date`` and
``X-Rate-Limit-Reset`` are present, and a concurrency refusal says so with limit = remaining = 0.
The dev IdP reproduces this so those client paths can be tested; time comes from the IdP clock,
so a test moves the clock instead of waiting a minute.

The counting is sans-IO (:class:`RateLimiter`); :class:`RateLimitMiddleware` is the thin ASGI part.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import formatdate

from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authgate.clock import Clock
from authgate.idp.config import RateLimitConfig
from authgate.idp.errors import okta_error
from authgate.idp.ids import request_id

__all__ = [
    "METADATA_PATHS",
    "Decision",
    "RateLimitMiddleware",
    "RateLimitRule",
    "RateLimitSettings",
    "RateLimiter",
]

# Discovery and signing keys are exempt on Okta (rate-limits reference); "*" is one path segment.
METADATA_PATHS: tuple[str, ...] = (
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/.well-known/oauth-authorization-server/oauth2/*",
    "/oauth2/v1/keys",
    "/oauth2/*/v1/keys",
    "/oauth2/*/.well-known/openid-configuration",
    "/oauth2/*/.well-known/oauth-authorization-server",
    "/__admin*",  # the dev IdP's own control plane is not part of the emulated org
)


class RateLimitRule(BaseModel):
    """One endpoint family: ``path`` is exact, or a prefix when it ends in ``*``.

    Inside the pattern a ``*`` segment stands for one path segment (``/oauth2/*/v1/token``).
    ``methods`` empty means every method; ``concurrency`` caps requests in flight at once.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    family: str = ""
    path: str = Field(pattern=r"^/")
    methods: tuple[str, ...] = ()
    limit: int = Field(default=600, ge=1)
    concurrency: int | None = Field(default=None, ge=1)


class RateLimitSettings(BaseModel):
    """The limiter's configuration; defaults follow Okta's published per-minute buckets."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    window_seconds: int = Field(default=60, ge=1)
    default_limit: int = Field(default=600, ge=1)
    rules: tuple[RateLimitRule, ...] = (
        RateLimitRule(family="authn", path="/api/v1/authn*", limit=600),
        RateLimitRule(family="users", path="/api/v1/users*", limit=600),
        RateLimitRule(family="groups", path="/api/v1/groups*", limit=500),
        RateLimitRule(family="apps", path="/api/v1/apps*", limit=100),
        RateLimitRule(family="token", path="/oauth2*", limit=1200),
    )
    exempt: tuple[str, ...] = METADATA_PATHS

    @classmethod
    def from_config(cls, buckets: Iterable[RateLimitConfig]) -> RateLimitSettings:
        """Settings from the IdP config's ``rate_limits`` (path prefixes); none = the defaults."""
        rules = tuple(
            RateLimitRule(
                family=b.family,
                path=b.path_prefix + "*",
                limit=b.per_minute,
                concurrency=b.concurrency,
            )
            for b in buckets
        )
        return cls(rules=rules) if rules else cls()


RULE_CACHE_SIZE = 4096


def _segments_match(pattern: list[str], path: list[str]) -> bool:
    return len(pattern) == len(path) and all(
        p in ("*", s) for p, s in zip(pattern, path, strict=True)
    )


def _matches(pattern: str, path: str) -> bool:
    if pattern.endswith("*") and not pattern.endswith("/*"):
        stem = pattern[:-1].split("/")
        parts = path.split("/")
        if len(parts) < len(stem):
            return False
        head = parts[: len(stem)]
        # The last stem piece is a string prefix ("/api/v1/users*" also matches "/api/v1/users/x").
        return _segments_match(stem[:-1], head[:-1]) and head[-1].startswith(stem[-1])
    return _segments_match(pattern.split("/"), path.split("/"))


def _specificity(rule: RateLimitRule) -> tuple[int, int]:
    exact = 0 if rule.path.endswith("*") and not rule.path.endswith("/*") else 1
    return (exact, len(rule.path.replace("*", "")))


@dataclass
class _Bucket:
    window_start: float = 0.0
    used: int = 0
    in_flight: int = 0


@dataclass(frozen=True)
class Decision:
    """What the limiter says about one request: the three header values and the verdict."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    bucket: str | None = None

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-rate-limit-limit", str(self.limit).encode()),
            (b"x-rate-limit-remaining", str(self.remaining).encode()),
            (b"x-rate-limit-reset", str(self.reset).encode()),
        ]


@dataclass
class RateLimiter:
    """Per-family fixed windows that open at a bucket's first request (not wall-clock minutes)."""

    settings: RateLimitSettings
    clock: Clock
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    # Tests and the admin API call in from another thread than the server's event loop.
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Matching every pattern on every request cost ~25 µs; settings are frozen, so the answer
    # per (method, path) never changes. Bounded because paths come from the client.
    _rules: dict[tuple[str, str], RateLimitRule | None] = field(default_factory=dict)

    def rule_for(self, method: str, path: str) -> RateLimitRule | None:
        """The bucket rule for a request, or None when the path is exempt (metadata)."""
        key = (method, path)
        try:
            return self._rules[key]
        except KeyError:
            pass
        rule = self._match_rule(method, path)
        if len(self._rules) >= RULE_CACHE_SIZE:
            self._rules.clear()
        self._rules[key] = rule
        return rule

    def _match_rule(self, method: str, path: str) -> RateLimitRule | None:
        if any(_matches(p, path) for p in self.settings.exempt):
            return None
        candidates = [
            r
            for r in self.settings.rules
            if (not r.methods or method in r.methods) and _matches(r.path, path)
        ]
        if not candidates:
            return RateLimitRule(family="default", path="/*", limit=self.settings.default_limit)
        return max(candidates, key=_specificity)

    def _key(self, method: str, rule: RateLimitRule) -> str:
        # Okta counts each HTTP method of a family in its own bucket.
        return f"{method} {rule.family or rule.path}"

    def acquire(self, method: str, path: str) -> Decision | None:
        """Count a request; None = exempt. Call :meth:`release` when an allowed one finishes."""
        rule = self.rule_for(method, path)
        if rule is None:
            return None
        key = self._key(method, rule)
        now = self.clock.time()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket())
            if bucket.used == 0 or now >= bucket.window_start + self.settings.window_seconds:
                bucket.window_start, bucket.used = now, 0
            reset = math.ceil(bucket.window_start + self.settings.window_seconds)
            if rule.concurrency is not None and bucket.in_flight >= rule.concurrency:
                # Okta's concurrency refusal: limit = remaining = 0, reset = when to try again.
                return Decision(False, 0, 0, math.ceil(now) + 1, key)
            if bucket.used >= rule.limit:
                return Decision(False, rule.limit, 0, reset, key)
            bucket.used += 1
            bucket.in_flight += 1
            return Decision(True, rule.limit, rule.limit - bucket.used, reset, key)

    def release(self, decision: Decision) -> None:
        with self._lock:
            bucket = self._buckets.get(decision.bucket or "")
            if decision.allowed and bucket is not None:
                bucket.in_flight = max(0, bucket.in_flight - 1)

    def in_flight(self, method: str, path: str) -> int:
        """Requests of this request's bucket being served right now."""
        rule = self.rule_for(method, path)
        with self._lock:
            bucket = self._buckets.get(self._key(method, rule)) if rule else None
            return bucket.in_flight if bucket else 0

    def reset_all(self) -> None:
        """Forget every count (admin/fault-injection hook)."""
        with self._lock:
            self._buckets.clear()


class RateLimitMiddleware:
    """ASGI wrapper: rate-limit headers, ``Date`` and ``X-Okta-Request-Id``; 429 E0000047 when over.

    ``Date`` and the request id are added to every answer that lacks them (exempt ones too), as
    Okta sends both on every response.
    """

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter
        self._date_second = -1
        self._date_text = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limiter.settings.enabled:
            await self.app(scope, receive, send)
            return
        decision = self.limiter.acquire(scope["method"], scope["path"])
        if decision is not None and not decision.allowed:
            await self._refuse(decision, scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not k.lower().startswith(b"x-rate-limit-")
                ]
                if decision is not None:
                    headers += decision.headers()
                names = {k.lower() for k, _ in headers}
                if b"date" not in names:
                    headers.append((b"date", self._date().encode()))
                if b"x-okta-request-id" not in names:
                    given = scope.get("state", {}).get("request_id")
                    headers.append((b"x-okta-request-id", (given or request_id()).encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if decision is not None:
                self.limiter.release(decision)

    def _date(self) -> str:
        # Date from the IdP clock, so reset − Date (what Okta's SDK sleeps) stays meaningful.
        # HTTP dates have one-second resolution: format once per second, not once per answer.
        second = int(self.limiter.clock.time())
        if second != self._date_second:
            self._date_second, self._date_text = second, formatdate(second, usegmt=True)
        return self._date_text

    async def _refuse(self, decision: Decision, scope: Scope, receive: Receive, send: Send) -> None:
        response = okta_error(
            429,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
            headers={"Date": self._date(), "X-Okta-Request-Id": request_id()},
        )
        response.raw_headers += decision.headers()
        await response(scope, receive, send)
