"""``/__admin/`` control API of the dev IdP (not an Okta API): faults, clock, keys, reset, log.

For tests written in other languages and for CI scripts; Python tests can call the same
operations on the :class:`~authgate.idp.state.IdP` object directly. Every call needs
``Authorization: Bearer <admin_token>`` (compared in constant time); failures use Okta's
``E0000011`` shape so nothing here looks different from the rest of the server.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authgate.idp.endpoints import idp_of
from authgate.idp.errors import OktaJSONResponse, OktaProblem

__all__ = ["routes"]


def _authorize(request: Request) -> None:
    idp = idp_of(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    good = scheme == "Bearer" and hmac.compare_digest(
        token.strip().encode(), idp.config.admin_token.encode()
    )
    if not good:
        raise OktaProblem(401, "E0000011", "Invalid token provided")


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > 64 * 1024:
        raise OktaProblem(400, "E0000003", "The request body was not well-formed.")
    try:
        data = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise OktaProblem(400, "E0000003", "The request body was not well-formed.") from exc
    if not isinstance(data, dict):
        raise OktaProblem(400, "E0000003", "The request body was not well-formed.")
    return data


def _invalid(message: str) -> OktaProblem:
    return OktaProblem(400, "E0000001", f"Api validation failed: {message}", [message])


async def state(request: Request) -> Response:
    _authorize(request)
    idp = idp_of(request)
    with idp.lock:
        counts = {
            "access_tokens": len(idp.tokens),
            "refresh_tokens": len(idp.refresh_tokens),
            "codes": len(idp.codes),
        }
    servers = {s.id: {"issuer": s.issuer, "keys": s.keys.status()} for s in idp.servers()}
    return OktaJSONResponse(
        {"skew": idp.clock.skew, "servers": servers, "faults": idp.faults.list(), **counts}
    )


async def requests(request: Request) -> Response:
    _authorize(request)
    records = idp_of(request).request_log.records(path=request.query_params.get("path"))
    return OktaJSONResponse([r.as_dict() for r in records])


async def faults(request: Request) -> Response:
    _authorize(request)
    idp = idp_of(request)
    if request.method == "DELETE":
        idp.faults.clear()
        return Response(status_code=204)
    data = await _json(request)
    path, status, count = data.get("path"), data.get("status", 503), data.get("count", 1)
    delay, method = data.get("delay", 0.0), data.get("method")
    if not isinstance(path, str) or not path.startswith("/"):
        raise _invalid("path: must be a path glob starting with /")
    if status is not None and not isinstance(status, int):
        raise _invalid("status: must be an HTTP status code or null")
    if not isinstance(count, int) or not isinstance(delay, int | float):
        raise _invalid("count/delay: must be numbers")
    headers = data.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise _invalid("headers: must map names to strings")
    try:
        fault = idp.faults.add(
            path,
            status=status,
            body=data.get("body"),
            headers=headers,
            delay=float(delay),
            count=count,
            method=method if isinstance(method, str) else None,
        )
    except ValueError as exc:
        raise _invalid(str(exc)) from exc
    return OktaJSONResponse(fault.describe(), status_code=201)


async def clock(request: Request) -> Response:
    _authorize(request)
    data = await _json(request)
    skew = data.get("skew")
    if not isinstance(skew, int | float) or isinstance(skew, bool):
        raise _invalid("skew: seconds to add to the IdP clock")
    idp_of(request).clock.skew = float(skew)
    return OktaJSONResponse({"skew": float(skew)})


async def rotate(request: Request) -> Response:
    _authorize(request)
    idp = idp_of(request)
    server_id = request.path_params["server_id"]
    if idp.find_server(server_id) is None:
        raise OktaProblem(
            404, "E0000007", f"Not found: Resource not found: {server_id} (AuthorizationServer)"
        )
    kid = idp.rotate_keys(server_id)
    return OktaJSONResponse({"kid": kid, "keys": idp.server(server_id).keys.status()})


async def revoke_all(request: Request) -> Response:
    _authorize(request)
    return OktaJSONResponse({"revoked": idp_of(request).revoke_all()})


async def reset(request: Request) -> Response:
    _authorize(request)
    idp_of(request).reset()
    return Response(status_code=204)


routes = [
    Route("/state", state, methods=["GET"]),
    Route("/requests", requests, methods=["GET"]),
    Route("/faults", faults, methods=["POST", "DELETE"]),
    Route("/clock", clock, methods=["POST"]),
    Route("/keys/{server_id}/rotate", rotate, methods=["POST"]),
    Route("/revoke-all", revoke_all, methods=["POST"]),
    Route("/reset", reset, methods=["POST"]),
]
