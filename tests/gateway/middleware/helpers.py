"""A tiny ASGI harness for one middleware at a time: scope in, messages and context out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authgate.errors import AuthError
from authgate.gateway.context import RequestContext, context_of
from authgate.gateway.target import plain_refuser
from authgate.policy.rules import Rule


def http_scope(
    headers: Sequence[tuple[bytes, bytes]] = (),
    *,
    path: str = "/x",
    method: str = "GET",
    client: tuple[str, int] = ("198.51.100.7", 4000),
) -> Scope:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "scheme": "http",
        "headers": list(headers),
        "client": client,
        "server": ("127.0.0.1", 8080),
    }


def prepared(scope: Scope, rule: Rule | None = None) -> RequestContext:
    """A context as the target stage leaves it: rule matched, refuser set."""
    ctx = context_of(scope)
    ctx.host = "api.test"
    ctx.client_ip = scope["client"][0]
    ctx.rule = rule
    ctx.route = rule.name if rule else "(no rule)"
    ctx.refuser = plain_refuser("authgate")
    return ctx


async def ok_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-inner", b"1")]})
    await send({"type": "http.response.body", "body": b"ok"})


def refusing_app(error: AuthError) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await context_of(scope).refuse(send, error)

    return app


async def call(app: ASGIApp, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def status(messages: list[Message]) -> int:
    return int(messages[0]["status"])


def headers(messages: list[Message]) -> dict[bytes, bytes]:
    return dict(messages[0]["headers"])


def body(messages: list[Message]) -> Any:
    import orjson

    return orjson.loads(b"".join(m.get("body", b"") for m in messages[1:]))
