"""Admin HTTP API for service tokens (Starlette routes over ``TokenAdmin``), JSON in and out.

``GET /tokens`` and ``GET /tokens/{id}`` need ``admin:tokens:read``; ``POST /tokens``,
``POST /tokens/{id}/rotate`` and ``POST /tokens/{id}/revoke`` need ``admin:tokens:write``
(403 ``auth.insufficient_scope``, RFC 6750 §3.1). The caller's Principal is read from
``scope["authgate.principal"]``, put there by the authentication middleware; without one the
answer is 401. Answers carrying a new secret are ``Cache-Control: no-store``. Every bad input
gets a 4xx with a stable code, never a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authgate.clock import Clock, system_clock
from authgate.errors import AuthError, ErrorCode
from authgate.principal import Principal
from authgate.service_tokens.admin import TokenAdmin
from authgate.service_tokens.rotation import DEFAULT_OVERLAP, TokenStateError
from authgate.service_tokens.settings import parse_duration
from authgate.service_tokens.store import TokenExistsError, TokenNotFoundError

__all__ = ["READ_SCOPE", "WRITE_SCOPE", "token_routes"]

READ_SCOPE = "admin:tokens:read"
WRITE_SCOPE = "admin:tokens:write"
MAX_BODY = 64 * 1024
Handler = Callable[[Request], Awaitable[Response]]


def _json(data: Any, status: int = 200, *, secret: bool = False) -> Response:
    headers = {"Cache-Control": "no-store"} if secret else None
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


def _error(error: AuthError) -> Response:
    response = _json(error.to_dict(), error.status)
    if error.status in (401, 403):
        response.headers["WWW-Authenticate"] = error.www_authenticate()
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, int(error.retry_after + 0.999)))
    return response


def _bad(detail: str, status: int = 400) -> AuthError:
    # No dedicated code for "not found"/"conflict": invalid_request with the right status.
    return AuthError(ErrorCode.INVALID_REQUEST, detail, status=status)


def _principal(request: Request, scope: str) -> Principal:
    principal = request.scope.get("authgate.principal")
    if not isinstance(principal, Principal):
        raise AuthError(ErrorCode.MISSING_TOKEN, "the admin API needs an authenticated caller")
    principal.require_scopes(scope)
    return principal


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise _bad(f"request body is larger than {MAX_BODY} bytes", 413)
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _bad("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _bad("request body must be a JSON object")
    return data


def _strings(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(f"{name!r} must be a list of strings")
    return value


def _seconds(body: dict[str, Any], name: str, default: float | None) -> float | None:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad(f"{name!r} must be seconds or a duration such as '30d'")
    try:
        return parse_duration(value) if isinstance(value, str) else float(value)
    except ValueError as exc:
        raise _bad(f"{name!r}: {exc}") from None


def _optional_str(body: dict[str, Any], name: str, default: str | None = None) -> str | None:
    value = body.get(name, default)
    if value is not None and not isinstance(value, str):
        raise _bad(f"{name!r} must be a string")
    return value


def _guard(handler: Handler) -> Handler:
    """Map every refusal to its JSON answer so no input can produce a 500."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except AuthError as error:
            return _error(error)
        except TokenNotFoundError as exc:
            return _error(_bad(str(exc), 404))
        except (TokenExistsError, TokenStateError) as exc:
            return _error(_bad(str(exc), 409))
        except ValueError as exc:
            return _error(_bad(str(exc)))

    return run


def token_routes(admin: TokenAdmin, *, clock: Clock = system_clock) -> list[Route]:
    """The five token routes, relative to wherever the admin API is mounted."""

    async def list_tokens(request: Request) -> Response:
        who = _principal(request, READ_SCOPE)
        now = clock.time()
        records = await admin.list(actor=who.subject)
        return _json({"tokens": [r.to_dict(now) for r in records]})

    async def create(request: Request) -> Response:
        who = _principal(request, WRITE_SCOPE)
        body = await _body(request)
        token, record = await admin.create(
            actor=who.subject,
            token_id=_optional_str(body, "id"),
            description=_optional_str(body, "description", "") or "",
            scopes=_strings(body, "scopes"),
            workspaces=_strings(body, "workspaces"),
            allowed_cidrs=_strings(body, "allowed_cidrs"),
            expires_in=_seconds(body, "expires_in", None),
        )
        return _json({"token": token, "record": record.to_dict(clock.time())}, 201, secret=True)

    async def show(request: Request) -> Response:
        who = _principal(request, READ_SCOPE)
        record = await admin.show(request.path_params["token_id"], actor=who.subject)
        return _json(record.to_dict(clock.time()))

    async def rotate(request: Request) -> Response:
        who = _principal(request, WRITE_SCOPE)
        body = await _body(request)
        token, record = await admin.rotate(
            request.path_params["token_id"],
            actor=who.subject,
            overlap=_seconds(body, "overlap", DEFAULT_OVERLAP) or 0.0,
            expires_in=_seconds(body, "expires_in", None),
        )
        return _json({"token": token, "record": record.to_dict(clock.time())}, secret=True)

    async def revoke(request: Request) -> Response:
        who = _principal(request, WRITE_SCOPE)
        body = await _body(request)
        record = await admin.revoke(
            request.path_params["token_id"],
            actor=who.subject,
            reason=_optional_str(body, "reason", "") or "",
        )
        return _json(record.to_dict(clock.time()))

    return [
        Route("/tokens", _guard(list_tokens), methods=["GET"]),
        Route("/tokens", _guard(create), methods=["POST"]),
        Route("/tokens/{token_id}", _guard(show), methods=["GET"]),
        Route("/tokens/{token_id}/rotate", _guard(rotate), methods=["POST"]),
        Route("/tokens/{token_id}/revoke", _guard(revoke), methods=["POST"]),
    ]
