"""RequestIdMiddleware: reuse a plain incoming id, replace a hostile one, echo it back."""

from __future__ import annotations

import pytest
from tests.gateway.middleware.helpers import call, headers, http_scope, ok_app

from authgate.gateway.context import context_of
from authgate.gateway.middleware.request_id import RequestIdMiddleware

pytestmark = pytest.mark.anyio


async def test_incoming_plain_id_is_reused_and_echoed() -> None:
    scope = http_scope([(b"x-request-id", b"abc-123")])
    sent = await call(RequestIdMiddleware(ok_app), scope)
    assert headers(sent)[b"x-request-id"] == b"abc-123"
    assert context_of(scope).request_id == "abc-123"


@pytest.mark.parametrize("value", [b"", b"a b", b"x" * 200, b'{"json":1}', b"a\\nb"])
async def test_hostile_id_is_replaced(value: bytes) -> None:
    scope = http_scope([(b"x-request-id", value)])
    sent = await call(RequestIdMiddleware(ok_app), scope)
    got = headers(sent)[b"x-request-id"]
    assert got != value
    assert len(got) == 16


async def test_untrusted_incoming_ids_are_ignored_when_configured() -> None:
    scope = http_scope([(b"x-request-id", b"abc")])
    sent = await call(RequestIdMiddleware(ok_app, trust_incoming=False), scope)
    assert headers(sent)[b"x-request-id"] != b"abc"


async def test_lifespan_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        seen.append(scope["type"])

    await RequestIdMiddleware(app)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]
