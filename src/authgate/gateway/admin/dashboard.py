"""Admin dashboard at ``/__authgate/`` (issue #7 Operations): server-rendered page + JSON status.

Who may see it: a caller whose token holds ``admin:dashboard`` or any of the gateway's admin
scopes (``admin_scopes``, by default the token-admin scopes) — logged in through the form (an
opaque session cookie, see ``login.py``) or, for ``status.json`` only, with an
``Authorization: Bearer`` header. The page has no external assets: inline CSS and a few lines of
script (allowed by a per-response CSP nonce) poll ``status.json`` every 2 s.
"""

from __future__ import annotations

import html
import secrets
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from authgate.authn.base import Credential
from authgate.errors import AuthError, ErrorCode
from authgate.gateway.admin.denials import ConsoleState
from authgate.gateway.admin.login import COOKIE, SessionStore, origin_allowed
from authgate.gateway.admin.page import LOGIN_PAGE, PAGE
from authgate.gateway.admin.status import StatusCollector
from authgate.principal import Principal

if TYPE_CHECKING:
    from authgate.gateway.app import GatewayComponents

__all__ = ["DASHBOARD_PREFIX", "DASHBOARD_SCOPE", "AdminConsole"]

DASHBOARD_PREFIX = "/__authgate"
DASHBOARD_SCOPE = "admin:dashboard"
_MAX_TOKEN = 8192


def _headers(nonce: str | None = None) -> dict[str, str]:
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    return {
        "content-security-policy": (
            f"default-src 'none'; style-src 'unsafe-inline'; script-src {script}; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "cache-control": "no-store",
        "referrer-policy": "same-origin",  # no-referrer would make form POSTs send Origin: null
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
    }


class AdminConsole:
    """The dashboard ASGI app (mounted by the gateway for every ``/__authgate/…`` path)."""

    def __init__(self, components: GatewayComponents, state: ConsoleState) -> None:
        self.c = components
        self.scopes = (DASHBOARD_SCOPE, *components.settings.admin_scopes)
        self.sessions = SessionStore(clock=state.denials.clock)
        self.status = StatusCollector(components, state)
        p = DASHBOARD_PREFIX
        self.router = Router(
            routes=[
                Route(p, self.slash, methods=["GET"]),
                Route(p + "/", self.page, methods=["GET"]),
                Route(p + "/status.json", self.status_json, methods=["GET"]),
                Route(p + "/login", self.login_form, methods=["GET"]),
                Route(p + "/login", self.login, methods=["POST"]),
                Route(p + "/logout", self.logout, methods=["POST"]),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008, "reason": "not a WebSocket path"})
            return
        await self.router(scope, receive, send)

    # -- who is asking ------------------------------------------------------------------------
    async def _authenticate(self, token: str, request: Request) -> Principal:
        if not token or len(token) > _MAX_TOKEN:
            raise AuthError(ErrorCode.MISSING_TOKEN, "an admin token is needed")
        client = request.client.host if request.client else None
        principal = await self.c.authenticator.authenticate(Credential(token, client_ip=client))
        principal.require_scopes(*self.scopes, any_of=True)
        return principal

    async def _viewer(self, request: Request) -> Principal | None:
        principal = self.sessions.get(request.cookies.get(COOKIE))
        if principal is not None:
            return principal
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            try:
                return await self._authenticate(auth[7:].strip(), request)
            except AuthError:
                return None
        return None

    async def slash(self, request: Request) -> Response:
        return RedirectResponse(DASHBOARD_PREFIX + "/", 308, headers=_headers())

    # -- pages --------------------------------------------------------------------------------
    async def page(self, request: Request) -> Response:
        who = await self._viewer(request)
        if who is None:
            return RedirectResponse(DASHBOARD_PREFIX + "/login", 303, headers=_headers())
        nonce = secrets.token_urlsafe(16)
        body = PAGE.replace("{nonce}", nonce).replace("{viewer}", html.escape(who.subject))
        return HTMLResponse(body, headers=_headers(nonce))

    async def status_json(self, request: Request) -> Response:
        who = await self._viewer(request)
        if who is None:
            body = {"code": "auth.missing_token", "message": "log in or send an admin token"}
            return Response(orjson.dumps(body), 401, _headers(), media_type="application/json")
        data = await self.status.collect(who)
        return Response(orjson.dumps(data), 200, _headers(), media_type="application/json")

    async def login_form(self, request: Request, message: str = "", status: int = 200) -> Response:
        note = f'<p class="err" id="login-error">{html.escape(message)}</p>' if message else ""
        return HTMLResponse(LOGIN_PAGE.replace("{message}", note), status, headers=_headers())

    async def login(self, request: Request) -> Response:
        if not origin_allowed(request, self.c.settings.public_url):
            return await self.login_form(request, "Login refused: cross-origin request.", 403)
        async with request.form(max_files=0, max_fields=2, max_part_size=_MAX_TOKEN) as form:
            token = str(form.get("token") or "").strip()
        try:
            who = await self._authenticate(token, request)
        except AuthError as error:
            return await self.login_form(
                request, f"Login refused: {error.code} — {error.detail}", error.status
            )
        response = RedirectResponse(DASHBOARD_PREFIX + "/", 303, headers=_headers())
        response.set_cookie(
            COOKIE,
            self.sessions.create(who),
            max_age=int(self.sessions.ttl),
            path=DASHBOARD_PREFIX + "/",
            secure=request.url.scheme == "https"
            or (self.c.settings.public_url or "").startswith("https://"),
            httponly=True,
            samesite="strict",
        )
        return response

    async def logout(self, request: Request) -> Response:
        if not origin_allowed(request, self.c.settings.public_url):
            return Response("cross-origin logout refused", 403, _headers())
        self.sessions.drop(request.cookies.get(COOKIE))
        response = RedirectResponse(DASHBOARD_PREFIX + "/login", 303, headers=_headers())
        response.delete_cookie(COOKIE, path=DASHBOARD_PREFIX + "/")
        return response
