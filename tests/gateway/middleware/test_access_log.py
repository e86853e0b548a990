"""AccessLogMiddleware: one JSON line with the request facts and a token fingerprint only."""

from __future__ import annotations

import logging

import orjson
import pytest
from tests.gateway.middleware.helpers import call, http_scope, ok_app, prepared

from authgate.fingerprint import fingerprint
from authgate.gateway.middleware.access_log import AccessLogMiddleware

pytestmark = pytest.mark.anyio


async def test_logs_one_line_with_fingerprint_never_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "header.payload.signature"
    scope = http_scope([(b"authorization", b"Bearer " + token.encode())], path="/api")
    ctx = prepared(scope)
    ctx.request_id = "r1"
    with caplog.at_level(logging.INFO, logger="authgate.access"):
        await call(AccessLogMiddleware(ok_app), scope)
    lines = [r.getMessage() for r in caplog.records if r.name == "authgate.access"]
    assert len(lines) == 1
    record = orjson.loads(lines[0])
    assert record["status"] == 200
    assert record["request_id"] == "r1"
    assert record["token"] == fingerprint(token)
    assert token not in lines[0]


async def test_disabled_logger_formats_nothing(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("authgate.access.test-off")
    logger.setLevel(logging.WARNING)
    with caplog.at_level(logging.WARNING, logger="authgate.access.test-off"):
        await call(AccessLogMiddleware(ok_app, logger=logger), http_scope())
    assert not [r for r in caplog.records if r.name == "authgate.access.test-off"]
