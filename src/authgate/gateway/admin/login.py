"""Dashboard login with an admin token: opaque server-side sessions (OWASP session management).

Why sessions and not the token in a cookie: the cookie then carries nothing an attacker could
replay against the API; it is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no
cross-site request carries it), ``Secure`` when served over https, scoped to ``/__authgate/``.
The login POST checks ``Origin`` against the gateway's own origin (login CSRF); the pages are
GET-only, so they need no token. Sessions end at logout, after ``ttl`` seconds, or when the
store is full (oldest first) — state is per process, so a restart logs everyone out.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from starlette.requests import Request

from authgate.clock import Clock, system_clock
from authgate.principal import Principal

__all__ = ["COOKIE", "Session", "SessionStore", "origin_allowed"]

COOKIE = "authgate_console"


@dataclass(frozen=True)
class Session:
    principal: Principal
    expires: float


class SessionStore:
    """``session id → Principal`` with expiry; ids are 256-bit random (a hash look-up of an
    unguessable id reveals nothing useful through timing)."""

    def __init__(
        self, *, ttl: float = 3600.0, size: int = 1000, clock: Clock = system_clock
    ) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, principal: Principal) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[sid] = Session(principal, self.clock.monotonic() + self.ttl)
            while len(self._sessions) > self.size:
                self._sessions.popitem(last=False)
        return sid

    def get(self, sid: str | None) -> Principal | None:
        if not sid or len(sid) > 64:
            return None
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if session.expires <= self.clock.monotonic():
                del self._sessions[sid]
                return None
            return session.principal

    def drop(self, sid: str | None) -> None:
        if sid:
            with self._lock:
                self._sessions.pop(sid, None)


def origin_allowed(request: Request, public_url: str | None) -> bool:
    """True when ``Origin`` is the gateway's own origin (as reached, or its public URL)."""
    origin = request.headers.get("origin")
    if not origin:
        return False
    host = request.headers.get("host", "")
    own = {f"{request.url.scheme}://{host}".lower()}
    if public_url:
        scheme, _, rest = public_url.partition("://")
        own.add(f"{scheme}://{rest.split('/', 1)[0]}".lower())
    return origin.lower() in own
