"""Okta classic Authentication API (``/api/v1/authn``) for the dev IdP: password, TOTP, push.

Gateways and AAA front-ends that sign users in with Okta's classic API walk its state machine:
``SUCCESS`` with a one-time ``sessionToken``, or ``MFA_REQUIRED`` → factor verify →
``MFA_CHALLENGE`` (push: ``factorResult`` WAITING / REJECTED / TIMEOUT) → ``SUCCESS``; also
``LOCKED_OUT`` and ``PASSWORD_EXPIRED``. TOTP codes are checked per RFC 6238 (§4, SHA-1, 30 s,
6 digits, ±1 step) against the user's configured secret; push is answered by the factor's
configured ``answer`` or, at run time, by :meth:`AuthnService.set_push_answer` /
``POST /__admin/authn/push``, so a test decides "timeout" instead of waiting for one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import threading
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from authgate.idp.config import FactorConfig, UserConfig
from authgate.idp.errors import OktaJSONResponse, OktaProblem, okta_error
from authgate.idp.state import IdP

__all__ = [
    "AuthnService",
    "PushAnswer",
    "authn_service",
    "redeem_session_token",
    "routes",
    "totp_code",
    "totp_match",
]

PushAnswer = Literal["approve", "reject", "timeout", "wait"]
_PUSH_RESULT = {"approve": "SUCCESS", "reject": "REJECTED", "timeout": "TIMEOUT", "wait": "WAITING"}
STATE_TOKEN_TTL = 300.0  # Okta transactions expire after 5 minutes
SESSION_TOKEN_TTL = 300.0
PUSH_TTL = 300.0  # an unanswered push times out like Okta Verify's
LOCKOUT_ATTEMPTS = 10  # Okta's default password policy
TOTP_STEP, TOTP_DIGITS, TOTP_WINDOW = 30, 6, 1

# Okta's error catalogue entries this API answers with: (status, errorCode, errorSummary).
_ERRORS = {
    "validation": (400, "E0000001", "Api validation failed: authRequest"),
    "malformed": (400, "E0000003", "The request body was not well-formed."),
    "auth_failed": (401, "E0000004", "Authentication failed"),
    "bad_token": (401, "E0000011", "Invalid token provided"),
    "credentials": (403, "E0000014", "Update of credentials failed"),
    "bad_passcode": (403, "E0000068", "Invalid Passcode/Answer"),
    "wrong_state": (
        403,
        "E0000079",
        "This operation is not allowed in the current authentication state.",
    ),
    "replayed": (
        403,
        "E0000082",
        "Each code can only be used once. Please wait for a new code and try again.",
    ),
}


def _fail(name: str, *causes: str) -> OktaProblem:
    return OktaProblem(*_ERRORS[name], causes)


def _same(given: str, expected: str) -> bool:
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())


def _link(name: str, href: str) -> dict[str, Any]:
    return {"name": name, "href": href, "hints": {"allow": ["POST"]}}


def totp_code(secret_b32: str, counter: int, digits: int = TOTP_DIGITS) -> str:
    """The HOTP value (RFC 4226 §5.3) of ``counter``; TOTP uses counter = time // step."""
    padded = secret_b32.strip().replace(" ", "").upper()
    key = base64.b32decode(padded + "=" * (-len(padded) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def totp_match(secret_b32: str, code: str, now: float) -> int | None:
    """The time step ``code`` belongs to (now ±1 step, RFC 6238 §5.2), or None."""
    current = int(now // TOTP_STEP)
    found = None
    for counter in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        # Every candidate is compared, so timing does not reveal which step matched.
        if hmac.compare_digest(totp_code(secret_b32, counter), code) and found is None:
            found = counter
    return found


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class _Transaction:
    state_token: str
    user_id: str
    status: str
    expires_at: float
    push_started: float | None = None


@dataclass
class AuthnService:
    """Transactions, session tokens, TOTP replay and push answers of one :class:`IdP`."""

    idp: IdP
    _transactions: dict[str, _Transaction] = field(default_factory=dict)
    _sessions: dict[str, tuple[str, float]] = field(default_factory=dict)
    _last_totp_step: dict[str, int] = field(default_factory=dict)
    _push_answers: dict[str, PushAnswer] = field(default_factory=dict)
    _failures: dict[str, int] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- run-time control (tests, admin API) ----------------------------------------------------
    def set_push_answer(self, login: str, answer: PushAnswer | None) -> None:
        """Override how ``login``'s push factor answers from now on (None = back to config)."""
        user = self._user(login)
        with self._lock:
            self._push_answers.pop(user.id, None)
            if answer is not None:
                self._push_answers[user.id] = answer

    def redeem(self, session_token: str) -> str | None:
        """The user id behind a session token, consuming it (single use, 5 min), or None."""
        with self._lock:
            found = self._sessions.pop(session_token, None)
        if found is None or found[1] <= self.idp.clock.time():
            return None
        return found[0]

    # -- helpers --------------------------------------------------------------------------------
    def _user(self, login_or_id: str) -> UserConfig:
        user = self.idp.config.user(login_or_id)
        if user is None:
            raise KeyError(f"unknown user {login_or_id}")
        return user

    def _now(self) -> float:
        return self.idp.clock.time()

    def _base(self) -> str:
        return self.idp.org_url + "/api/v1/authn"

    def _verify_url(self, factor: FactorConfig) -> str:
        return f"{self._base()}/factors/{factor.id}/verify"

    def _user_view(self, user: UserConfig) -> dict[str, Any]:
        defaults = {"firstName": "", "lastName": "", "locale": "en_US", "timeZone": "UTC"}
        profile = {"login": user.login} | {k: user.profile.get(k, v) for k, v in defaults.items()}
        return {"id": user.id, "passwordChanged": _iso(0), "profile": profile}

    def _factor_view(self, user: UserConfig, factor: FactorConfig) -> dict[str, Any]:
        profile: dict[str, Any] = {"credentialId": user.login}
        if factor.type == "push":
            profile.update(deviceType="SmartPhone_IPhone", name="Dev Phone", platform="IOS")
        return {
            "id": factor.id,
            "factorType": factor.type,
            "provider": factor.provider,
            "vendorName": factor.provider,
            "profile": profile,
            "_links": {"verify": {"href": self._verify_url(factor), "hints": {"allow": ["POST"]}}},
        }

    def _answer(self, body: dict[str, Any]) -> Response:
        return OktaJSONResponse(body)  # X-Okta-Request-Id and Date come from the app middleware

    def _transaction(self, user: UserConfig, status: str) -> _Transaction:
        tx = _Transaction(
            "00" + secrets.token_urlsafe(30), user.id, status, self._now() + STATE_TOKEN_TTL
        )
        with self._lock:
            self._transactions = {
                k: t for k, t in self._transactions.items() if t.expires_at > self._now()
            }
            self._transactions[tx.state_token] = tx
        return tx

    def _state(self, tx: _Transaction, user: UserConfig, **extra: Any) -> Response:
        body: dict[str, Any] = {
            "stateToken": tx.state_token,
            "expiresAt": _iso(tx.expires_at),
            "status": tx.status,
        }
        body.update(extra)
        embedded: dict[str, Any] = {"user": self._user_view(user)}
        if tx.status == "MFA_REQUIRED":
            embedded["factors"] = [self._factor_view(user, f) for f in user.mfa]
        body["_embedded"] = embedded | body.pop("_embedded", {})
        return self._answer(body)

    def _success(self, user: UserConfig, tx: _Transaction | None = None) -> Response:
        token = "20111" + secrets.token_urlsafe(30)
        expires = self._now() + SESSION_TOKEN_TTL
        with self._lock:
            self._sessions[token] = (user.id, expires)
            self._failures.pop(user.id, None)
            if tx is not None:
                self._transactions.pop(tx.state_token, None)
        body = {
            "expiresAt": _iso(expires),
            "status": "SUCCESS",
            "sessionToken": token,
            "_embedded": {"user": self._user_view(user)},
        }
        return self._answer(body)

    # -- primary authentication -----------------------------------------------------------------
    def primary(self, body: dict[str, Any]) -> Response:
        if isinstance(body.get("stateToken"), str) and "username" not in body:
            return self._state(*self._find_transaction(body))  # "where am I?" on a transaction
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not username:
            raise _fail("validation", "username and password are required")
        user = self.idp.config.user(username)
        # An unknown login still costs a comparison, so timing does not reveal which logins exist.
        good = _same(password, user.password if user else secrets.token_hex(16))
        if user is None or user.status in ("SUSPENDED", "DEPROVISIONED", "STAGED", "PROVISIONED"):
            raise _fail("auth_failed")
        with self._lock:
            locked = (
                user.status == "LOCKED_OUT" or self._failures.get(user.id, 0) >= LOCKOUT_ATTEMPTS
            )
            if not good and not locked:
                self._failures[user.id] = self._failures.get(user.id, 0) + 1
        if locked:
            return self._answer({"status": "LOCKED_OUT"})
        if not good:
            raise _fail("auth_failed")
        if user.status == "PASSWORD_EXPIRED":
            tx = self._transaction(user, "PASSWORD_EXPIRED")
            href = f"{self._base()}/credentials/change_password"
            return self._state(tx, user, _links={"next": _link("changePassword", href)})
        if user.mfa:
            return self._state(self._transaction(user, "MFA_REQUIRED"), user)
        return self._success(user)

    def _find_transaction(self, body: dict[str, Any]) -> tuple[_Transaction, UserConfig]:
        token = body.get("stateToken")
        with self._lock:
            tx = self._transactions.get(token) if isinstance(token, str) else None
        if tx is None or tx.expires_at <= self._now():
            raise _fail("bad_token")
        tx.expires_at = self._now() + STATE_TOKEN_TTL  # each step buys the transaction 5 more min
        return tx, self._user(tx.user_id)

    # -- factors ---------------------------------------------------------------------------------
    def verify(self, factor_id: str, body: dict[str, Any]) -> Response:
        tx, user = self._find_transaction(body)
        if tx.status not in ("MFA_REQUIRED", "MFA_CHALLENGE"):
            raise _fail("wrong_state")
        factor = next((f for f in user.mfa if f.id == factor_id), None)
        if factor is None:
            raise OktaProblem(
                404, "E0000007", f"Not found: Resource not found: {factor_id} (UserFactor)"
            )
        if factor.type == "push":
            return self._push(tx, user, factor)
        return self._totp(tx, user, factor, body.get("passCode"))

    def _totp(
        self, tx: _Transaction, user: UserConfig, factor: FactorConfig, code: Any
    ) -> Response:
        step = (
            totp_match(factor.secret or "", code, self._now())
            if isinstance(code, str) and factor.secret
            else None
        )
        if step is None:
            raise _fail(
                "bad_passcode", "Your passcode doesn't match our records. Please try again."
            )
        with self._lock:
            # RFC 6238 §5.2: a code is accepted once; later or equal steps of this factor are replays.
            if step <= self._last_totp_step.get(factor.id, -1):
                raise _fail("replayed")
            self._last_totp_step[factor.id] = step
        return self._success(user, tx)

    def _push(self, tx: _Transaction, user: UserConfig, factor: FactorConfig) -> Response:
        now = self._now()
        with self._lock:
            answer: PushAnswer = self._push_answers.get(user.id, factor.answer)
            first = tx.push_started is None
            if first:
                tx.push_started, tx.status = now, "MFA_CHALLENGE"
            elif now - (tx.push_started or now) >= PUSH_TTL:
                answer = "timeout"
            if answer == "approve" and not first:
                return self._success(user, tx)
            result = "WAITING" if first else _PUSH_RESULT[answer]
            if result != "WAITING":
                tx.push_started = None  # the next verify sends a new push
        verify = _link("poll" if result == "WAITING" else "verify", self._verify_url(factor))
        embedded = {"factor": self._factor_view(user, factor)}
        return self._state(
            tx, user, factorResult=result, _embedded=embedded, _links={"next": verify}
        )

    # -- expired password ------------------------------------------------------------------------
    def change_password(self, body: dict[str, Any]) -> Response:
        tx, user = self._find_transaction(body)
        if tx.status != "PASSWORD_EXPIRED":
            raise _fail("wrong_state")
        old, new = body.get("oldPassword"), body.get("newPassword")
        if not isinstance(old, str) or not _same(old, user.password):
            raise _fail("credentials", "oldPassword: Old Password is not correct")
        if not isinstance(new, str) or not new or new == old:
            raise _fail("credentials", "password: Password cannot be your current password")
        with self._lock:
            user.password, user.status = new, "ACTIVE"
        return self._success(user, tx)


_SERVICES: weakref.WeakKeyDictionary[IdP, AuthnService] = weakref.WeakKeyDictionary()
_SERVICES_LOCK = threading.Lock()


def authn_service(idp: IdP) -> AuthnService:
    """The one :class:`AuthnService` of ``idp`` (created on first use)."""
    with _SERVICES_LOCK:
        if idp not in _SERVICES:
            _SERVICES[idp] = AuthnService(idp)
        return _SERVICES[idp]


def redeem_session_token(idp: IdP, session_token: str) -> str | None:
    """For ``/authorize?sessionToken=``: the user id, consuming the token; None if unknown."""
    return authn_service(idp).redeem(session_token)


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise _fail("malformed")
    return body


def routes(idp: IdP) -> list[BaseRoute]:
    """The Authentication API routes and the push-answer admin hook."""
    service = authn_service(idp)

    async def handle(request: Request) -> Response:
        try:
            body = await _json(request)
            if request.url.path.endswith("/verify"):
                return service.verify(request.path_params["factor_id"], body)
            if request.url.path.endswith("/change_password"):
                return service.change_password(body)
            return service.primary(body)
        except OktaProblem as problem:
            return problem.response()

    async def admin_push(request: Request) -> Response:
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not _same(given, idp.config.admin_token):
            return okta_error(401, "E0000011", "Invalid token provided")
        try:
            body = await _json(request)
            answer = body.get("answer")
            if answer not in (None, "approve", "reject", "timeout", "wait"):
                raise OktaProblem(400, "E0000001", "Api validation failed: answer")
            service.set_push_answer(str(body.get("user", "")), answer)
        except KeyError:
            return okta_error(404, "E0000007", "Not found: Resource not found: user (User)")
        except OktaProblem as problem:
            return problem.response()
        return Response(status_code=204)

    return [
        Route("/api/v1/authn", handle, methods=["POST"]),
        Route("/api/v1/authn/factors/{factor_id}/verify", handle, methods=["POST"]),
        Route("/api/v1/authn/credentials/change_password", handle, methods=["POST"]),
        Route("/__admin/authn/push", admin_push, methods=["POST"]),
    ]
