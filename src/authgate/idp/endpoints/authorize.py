"""``{base}/v1/authorize`` for the code flow with PKCE S256 (RFC 6749 §4.1.1, RFC 7636 §4.3).

GET validates the request and shows a minimal HTML sign-in form; POST checks the password (and a
TOTP passcode or scripted push answer for MFA users) and redirects back with a 300 s code. Errors
about the client or redirect URI are shown, never redirected (RFC 6749 §4.1.2.1); others go back
to the client as ``error``/``error_description`` query parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import struct
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from authgate.idp import ids
from authgate.idp.config import AppConfig, UserConfig
from authgate.idp.endpoints import idp_of, server_of
from authgate.idp.errors import OAuthProblem
from authgate.idp.form import read_form
from authgate.idp.grants.password import check_password
from authgate.idp.policy import requested_scopes
from authgate.idp.state import AuthCode, ServerState

__all__ = ["authorize", "redirect_ok", "totp_ok"]

CODE_LIFETIME = 300
_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
           "code_challenge", "code_challenge_method")  # fmt: skip
_LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


class _Redirectable(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class _Checked:
    app: AppConfig
    redirect_uri: str
    scopes: list[str]


def redirect_ok(app: AppConfig, uri: str) -> bool:
    if uri in app.redirect_uris:
        return True
    given = urlsplit(uri)
    # RFC 8252 §7.3: loopback redirect URIs match on any port.
    return given.hostname in _LOOPBACK and any(
        (allowed.hostname, allowed.scheme, allowed.path)
        == (given.hostname, given.scheme, given.path)
        for allowed in map(urlsplit, app.redirect_uris)
    )


def _page(body: str, status: int = 200) -> HTMLResponse:
    doc = (
        "<!doctype html><html><head><meta charset='utf-8'><title>authgate dev IdP</title></head>"
        f"<body><h1>authgate dev IdP (DEV ONLY)</h1>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers={"Cache-Control": "no-store"})


def _check(server: ServerState, params: dict[str, str]) -> _Checked:
    idp = server.idp
    app = idp.app(params.get("client_id", ""))
    if app is None:
        raise OAuthProblem(400, "invalid_client", "Invalid value for 'client_id' parameter.")
    uri = params.get("redirect_uri", "")
    if not redirect_ok(app, uri):
        raise OAuthProblem(
            400,
            "invalid_request",
            "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.",
        )
    if params.get("response_type") != "code":
        raise _Redirectable("unsupported_response_type", "The response type is not supported.")
    if "authorization_code" not in app.grants:
        raise _Redirectable(
            "unauthorized_client",
            "The client is not authorized to use the provided grant type. "
            f"Configured grant types: [{', '.join(app.grants)}].",
        )
    challenge = params.get("code_challenge")
    if challenge and params.get("code_challenge_method") != "S256":
        raise _Redirectable("invalid_request", "'code_challenge_method' must be 'S256'.")
    if not challenge and app.auth_method == "none":
        raise _Redirectable(
            "invalid_request",
            "PKCE code challenge is required when the token endpoint authentication method is 'NONE'.",
        )
    try:
        scopes = requested_scopes(server, params.get("scope"))
    except OAuthProblem as exc:
        raise _Redirectable(exc.error, exc.description) from exc
    return _Checked(app, uri, scopes)


def totp_ok(secret: str, code: str, now: float, window: int = 1) -> bool:
    """RFC 6238 TOTP (SHA-1, 30 s, 6 digits) with ±``window`` steps."""
    try:
        key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    except ValueError:
        return False
    for step in range(-window, window + 1):
        counter = struct.pack(">Q", int(now // 30) + step)
        digest = hmac.new(key, counter, hashlib.sha1).digest()
        offset = digest[-1] & 0x0F
        value = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
        if hmac.compare_digest(f"{value:06d}", code):
            return True
    return False


def _form(params: dict[str, str], message: str = "") -> HTMLResponse:
    hidden = "".join(
        f"<input type='hidden' name='{n}' value='{html.escape(params[n], quote=True)}'>"
        for n in _PARAMS
        if n in params
    )
    note = f"<p role='alert'>{html.escape(message)}</p>" if message else ""
    return _page(
        f"{note}<form method='post'>{hidden}"
        "<label>Username <input name='username' autocomplete='username'></label>"
        "<label>Password <input name='password' type='password'></label>"
        "<label>Passcode (MFA users) <input name='passcode' inputmode='numeric'></label>"
        "<button type='submit' id='sign-in'>Sign in</button></form>",
        401 if message else 200,
    )


def _mfa_ok(user: UserConfig, passcode: str, now: float) -> bool:
    for factor in user.mfa:
        if factor.type == "push":
            return factor.answer == "approve"
        if factor.secret and totp_ok(factor.secret, passcode, now):
            return True
    return not user.mfa


async def authorize(request: Request) -> Response:
    server = server_of(request)
    idp = idp_of(request)
    if request.method == "POST":
        params = await read_form(request, idp.config.max_body_bytes)
    else:
        params = dict(request.query_params)
    try:
        checked = _check(server, params)
    except OAuthProblem as exc:
        return _page(f"<p role='alert'>{html.escape(exc.description)}</p>", exc.status)
    except _Redirectable as exc:
        query = {"error": exc.error, "error_description": exc.description}
        if "state" in params:
            query["state"] = params["state"]
        uri = params["redirect_uri"]
        return RedirectResponse(f"{uri}{'&' if '?' in uri else '?'}{urlencode(query)}", 302)
    request.state.client_id = checked.app.client_id
    if request.method != "POST":
        return _form(params)
    try:
        user = check_password(idp, params.get("username", ""), params.get("password", ""))
    except OAuthProblem:
        return _form(params, "Unable to sign in.")
    now = idp.clock.time()
    if not _mfa_ok(user, params.get("passcode", ""), now):
        return _form(params, "Verification failed.")
    code = ids.opaque_token()
    with idp.lock:
        idp.codes[code] = AuthCode(
            code=code,
            server_id=server.id,
            client_id=checked.app.client_id,
            redirect_uri=checked.redirect_uri,
            user_id=user.id,
            scopes=checked.scopes,
            code_challenge=params.get("code_challenge") or None,
            nonce=params.get("nonce"),
            expires_at=now + CODE_LIFETIME,
            auth_time=int(now),
            state=params.get("state"),
        )
    query = {"code": code}
    if "state" in params:
        query["state"] = params["state"]
    uri = checked.redirect_uri
    return RedirectResponse(f"{uri}{'&' if '?' in uri else '?'}{urlencode(query)}", 302)
