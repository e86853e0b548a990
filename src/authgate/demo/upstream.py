"""Sample upstream API behind the demo gateway (RFC 9110 semantics, RFC 7578 multipart, RFC 6455).

Why it exists: the demo needs something real to protect. It trusts the gateway entirely (it is
only reachable on loopback behind it) and echoes what the gateway forwarded, so every curl line
shows the identity headers and, on the token-exchange hop, the exchanged token's claims:

- ``GET /api/v1/policies`` (any valid token) and ``POST`` (the gateway requires role ``Admin``);
- ``POST /api/v1/rebuild/file``: multipart upload, answered with the file's SHA-256 and size —
  Starlette spools large parts to disk, and the hash is computed in 64 KiB chunks;
- ``GET /api/v1/whoami``: the ``X-Authgate-*`` headers and the upstream bearer token's claims;
- ``/api/v1/ws``: WebSocket echo.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

__all__ = ["create_upstream"]

_CHUNK = 64 * 1024
_POLICIES = [{"id": "default", "rules": 4}]


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status, media_type="application/json")


def identity(request: Request) -> dict[str, str]:
    """The identity headers the gateway added (it strips any the client sent)."""
    return {k: v for k, v in request.headers.items() if k.startswith("x-authgate-")}


def unverified_claims(authorization: str | None) -> dict[str, Any] | None:
    """Claims of the bearer JWT the gateway sent upstream — for display only, never for trust."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    parts = authorization[7:].strip().split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = orjson.loads(payload)
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(claims, dict):
        return None
    keep = ("iss", "sub", "aud", "cid", "uid", "scp", "act")
    return {k: claims[k] for k in keep if k in claims}


async def policies(request: Request) -> Response:
    who = identity(request).get("x-authgate-subject")
    if request.method == "POST":
        return _json({"created": True, "by": who})
    return _json({"policies": _POLICIES, "subject": who})


async def rebuild_file(request: Request) -> Response:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return _json({"code": "demo.bad_request", "message": "send multipart/form-data"}, 400)
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return _json({"code": "demo.bad_request", "message": "missing 'file' part"}, 400)
        digest, size = hashlib.sha256(), 0
        while chunk := await upload.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
        name = upload.filename
    return _json({"filename": name, "size": size, "sha256": digest.hexdigest()})


async def whoami(request: Request) -> Response:
    return _json(
        {
            "upstream_token": unverified_claims(request.headers.get("authorization")),
            "identity": identity(request),
        }
    )


async def health(request: Request) -> Response:
    return _json({"status": "ok"})


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive_text()
            await websocket.send_text(message)
    except WebSocketDisconnect:
        return


def create_upstream() -> Starlette:
    """The sample API as an ASGI app."""
    return Starlette(
        routes=[
            Route("/api/v1/health", health),
            Route("/api/v1/policies", policies, methods=["GET", "POST"]),
            Route("/api/v1/rebuild/file", rebuild_file, methods=["POST"]),
            Route("/api/v1/whoami", whoami),
            WebSocketRoute("/api/v1/ws", echo),
        ]
    )
