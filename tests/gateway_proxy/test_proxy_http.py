"""ReverseProxy over real sockets: header hygiene, keep-alive reuse, streaming, 502/504, limits."""

from __future__ import annotations

import asyncio
import hashlib
from types import SimpleNamespace
from typing import Any

import httpx
import orjson
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.clock import ManualClock
from authgate.errors import ErrorCode, status_for
from authgate.gateway.proxy import ReverseProxy

from .conftest import Upstream, closed_port, header, pattern, raw_server, serve

pytestmark = pytest.mark.anyio

IDENTITY = [(b"x-authgate-subject", b"alice@example.com"), (b"x-authgate-scopes", b"api:read")]


def with_identity(
    app: ASGIApp, headers: list[tuple[bytes, bytes]] = IDENTITY, **ctx: Any
) -> ASGIApp:
    """Stands in for the gateway's pipeline: what it leaves in the scope for the proxy."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        scope["authgate.upstream_headers"] = list(headers)
        if ctx:
            scope["authgate.ctx"] = SimpleNamespace(**ctx)
        await app(scope, receive, send)

    return wrapped


async def test_headers_are_cleaned_and_forwarding_headers_appended(upstream_app: Upstream) -> None:
    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}", strip_headers=["X-User"])
        async with (
            serve(with_identity(proxy, request_id="req-42")) as port,
            httpx.AsyncClient() as client,
        ):
            response = await client.get(
                f"http://127.0.0.1:{port}/a/b%2Fc?x=1&y=%20",
                headers={
                    "X-Authgate-Subject": "mallory",
                    "X-Authgate-Roles": "Admin",
                    "X-User": "mallory",
                    "Connection": "keep-alive, X-Secret",
                    "X-Secret": "hop",
                    "TE": "trailers",
                    "Proxy-Authorization": "Basic eA==",
                    "X-Forwarded-For": "203.0.113.9",
                    "X-Forwarded-Host": "evil.example",
                    "X-Forwarded-Proto": "https",
                    "Forwarded": "for=1.2.3.4",
                    "X-Kept": "yes",
                },
            )
    assert response.status_code == 200
    echo = response.json()
    assert echo["raw_path"] == "/a/b%2Fc"  # forwarded byte for byte, never re-encoded
    assert echo["query"] == "x=1&y=%20"
    assert header(echo, "x-authgate-subject") == ["alice@example.com"]
    assert header(echo, "x-authgate-scopes") == ["api:read"]
    assert header(echo, "x-authgate-roles") == []
    for dropped in ("x-user", "x-secret", "te", "proxy-authorization", "forwarded"):
        assert header(echo, dropped) == [], dropped
    assert header(echo, "x-forwarded-for") == ["203.0.113.9, 127.0.0.1"]
    assert header(echo, "x-forwarded-host") == [f"127.0.0.1:{port}"]
    assert header(echo, "x-forwarded-proto") == ["http"]
    assert header(echo, "x-request-id") == ["req-42"]
    assert header(echo, "host") == [f"127.0.0.1:{up_port}"]
    assert header(echo, "x-kept") == ["yes"]
    assert "connection" not in response.headers or response.headers["connection"] != "X-Secret"


async def test_forwarding_headers_from_a_trusted_proxy_are_kept(upstream_app: Upstream) -> None:
    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}", trusted_proxies=["127.0.0.0/8"])
        async with serve(with_identity(proxy)) as port, httpx.AsyncClient() as client:
            response = await client.get(
                f"http://127.0.0.1:{port}/",
                headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"},
            )
    echo = response.json()
    assert header(echo, "x-forwarded-proto") == ["https"]
    assert header(echo, "x-forwarded-host") == ["api.example.com"]
    assert len(header(echo, "x-request-id")[0]) == 16  # generated when the gateway gave none


async def test_identity_header_with_a_line_break_is_refused(upstream_app: Upstream) -> None:
    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}")
        evil = [(b"x-authgate-subject", b"alice\r\nx-authgate-roles: Admin")]
        async with serve(with_identity(proxy, evil)) as port, httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/")
    assert response.status_code == 400
    assert response.json()["code"] == ErrorCode.INVALID_CLAIM
    assert upstream_app.ports == []  # nothing reached the upstream


async def test_keep_alive_connections_are_reused(upstream_app: Upstream) -> None:
    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}", pool_size=4)
        async with serve(with_identity(proxy)) as port, httpx.AsyncClient() as client:
            for _ in range(20):
                assert (await client.get(f"http://127.0.0.1:{port}/seq")).status_code == 200
            assert upstream_app.connections == 1
            answers = await asyncio.gather(
                *(client.get(f"http://127.0.0.1:{port}/par") for _ in range(40))
            )
    assert all(a.status_code == 200 for a in answers)
    assert len(upstream_app.ports) == 60
    assert upstream_app.connections <= 4  # the pool bound holds under concurrency


async def test_head_then_get_on_the_same_connection(upstream_app: Upstream) -> None:
    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}")
        async with serve(with_identity(proxy)) as port, httpx.AsyncClient() as client:
            head = await client.head(f"http://127.0.0.1:{port}/x")
            get = await client.get(f"http://127.0.0.1:{port}/x")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) > 0
    assert get.json()["path"] == "/x"
    assert upstream_app.connections == 1


async def test_content_length_and_chunked_uploads_stream_through(upstream_app: Upstream) -> None:
    data = pattern(0, 3_000_000)

    async def chunks() -> Any:
        for i in range(0, len(data), 100_000):
            yield data[i : i + 100_000]

    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}")
        async with serve(with_identity(proxy)) as port, httpx.AsyncClient() as client:
            fixed = (await client.post(f"http://127.0.0.1:{port}/hash", content=data)).json()
            chunked = (await client.post(f"http://127.0.0.1:{port}/hash", content=chunks())).json()
    expected = hashlib.sha256(data).hexdigest()
    assert fixed["sha256"] == chunked["sha256"] == expected
    assert header(fixed, "content-length") == [str(len(data))]
    assert header(chunked, "transfer-encoding") == ["chunked"]
    assert header(chunked, "content-length") == []


async def test_chunked_download_streams_through(upstream_app: Upstream) -> None:
    size = 5_000_003
    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}")
        async with serve(with_identity(proxy)) as port, httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{port}/download?size={size}&chunk=50000"
            async with client.stream("GET", url) as response:
                assert "content-length" not in response.headers
                digest = hashlib.sha256()
                async for piece in response.aiter_bytes():
                    digest.update(piece)
    assert digest.hexdigest() == hashlib.sha256(pattern(0, size)).hexdigest()


async def test_upstream_timeout_is_504(upstream_app: Upstream) -> None:
    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}", read_timeout=0.3)
        async with (
            serve(with_identity(proxy, request_id="r1")) as port,
            httpx.AsyncClient() as client,
        ):
            response = await client.get(f"http://127.0.0.1:{port}/stall")
    assert upstream_app.stalled.is_set()
    assert response.status_code == 504 == status_for(ErrorCode.GATEWAY_UPSTREAM_TIMEOUT)
    body = response.json()
    assert body["code"] == "gateway.upstream_timeout"
    assert body["request_id"] == "r1"
    assert "0.3 s" in body["message"]
    assert proxy.pool.live == set()  # the stalled connection was dropped, not pooled


async def test_connection_refused_is_502() -> None:
    proxy = ReverseProxy(f"http://127.0.0.1:{closed_port()}")
    async with serve(with_identity(proxy)) as port, httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/")
    assert response.status_code == 502
    body = response.json()
    assert body["code"] == "gateway.upstream_unavailable"
    assert "cannot connect" in body["message"]


@pytest.mark.parametrize(
    "answer",
    [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", b"SSH-2.0-OpenSSH_9\r\n\r\n"],
    ids=["reset-before-answer", "reset-mid-body-before-head-sent", "not-http"],
)
async def test_reset_or_garbage_is_502(answer: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.transport.abort()

    async with raw_server(handler) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}")
        async with serve(with_identity(proxy)) as port, httpx.AsyncClient() as client:
            if answer.startswith(b"HTTP/1.1 200"):
                # the head was forwarded already: the client sees a truncated body, not a 502
                with pytest.raises(httpx.RemoteProtocolError):
                    await client.get(f"http://127.0.0.1:{port}/")
                return
            response = await client.get(f"http://127.0.0.1:{port}/")
    assert response.status_code == 502
    assert response.json()["code"] == "gateway.upstream_unavailable"


async def test_stale_keep_alive_connection_is_retried_for_bodiless_requests() -> None:
    seen: list[int] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(1)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # a second request on this connection:
        writer.transport.abort()  # close it unanswered, as a server whose idle timeout hit

    async with raw_server(handler) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}")
        async with serve(with_identity(proxy)) as port, httpx.AsyncClient() as client:
            first = await client.get(f"http://127.0.0.1:{port}/")
            second = await client.get(f"http://127.0.0.1:{port}/")
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.content == b"ok"
    assert len(seen) == 2  # the retry went out on a fresh connection


async def test_early_upstream_answer_stops_the_upload(upstream_app: Upstream) -> None:
    async def chunks() -> Any:
        for _ in range(400):
            yield b"z" * 65536  # 26 MB the upstream never reads

    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}")
        async with serve(with_identity(proxy)) as port, httpx.AsyncClient() as client:
            response = await client.post(f"http://127.0.0.1:{port}/early", content=chunks())
    assert response.status_code == 413
    assert response.json() == {"refused": True}


async def test_max_body_is_enforced_for_both_framings(upstream_app: Upstream) -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b"y" * 1000

    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}", max_body=5000)
        async with serve(with_identity(proxy)) as port, httpx.AsyncClient() as client:
            fixed = await client.post(f"http://127.0.0.1:{port}/hash", content=b"y" * 5001)
            streamed = await client.post(f"http://127.0.0.1:{port}/hash", content=chunks())
            fits = await client.post(f"http://127.0.0.1:{port}/hash", content=b"y" * 5000)
    assert fixed.status_code == streamed.status_code == 413
    assert "5000 bytes" in fixed.json()["message"]
    assert fits.status_code == 200
    assert fits.json()["size"] == 5000


async def test_client_disconnect_mid_stream_releases_the_upstream(upstream_app: Upstream) -> None:
    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}")
        async with serve(with_identity(proxy)) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(65536)
            tasks_before = len(asyncio.all_tasks())
            writer.transport.abort()
            await asyncio.wait_for(upstream_app.stream_ended.wait(), timeout=10)
            for _ in range(500):  # bounded poll: the proxy aborts its upstream connection
                if not proxy.pool.live and not proxy.pool.idle:
                    break
                await asyncio.sleep(0.01)
            assert proxy.pool.live == set()
            assert not proxy.pool.idle
            assert len(asyncio.all_tasks()) <= tasks_before  # the watcher task is gone too
    produced = upstream_app.chunks_sent
    assert produced < 1000  # it stopped instead of streaming forever into the void


async def test_errors_never_leak_internal_detail_as_500(upstream_app: Upstream) -> None:
    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}")
        async with serve(with_identity(proxy)) as port, httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/x?status=503")
    assert response.status_code == 503  # the upstream's own status passes through untouched
    assert orjson.loads(response.content)["path"] == "/x"


def test_bad_upstream_url_is_a_config_error() -> None:
    from authgate.errors import ConfigError

    with pytest.raises(ConfigError, match="upstream"):
        ReverseProxy("ftp://example.com")


async def test_idle_connections_expire_on_the_injected_clock(upstream_app: Upstream) -> None:
    clock = ManualClock()
    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}", idle_timeout=4.0, clock=clock)
        async with serve(with_identity(proxy)) as port, httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/1")
            clock.advance(3.9)
            await client.get(f"http://127.0.0.1:{port}/2")
            assert upstream_app.connections == 1  # still fresh: reused
            clock.advance(4.1)
            await client.get(f"http://127.0.0.1:{port}/3")
    assert upstream_app.connections == 2  # idle past idle_timeout: dropped, a new one opened


async def test_exhausted_pool_answers_504_after_connect_timeout(upstream_app: Upstream) -> None:
    async with serve(upstream_app) as up_port:
        proxy = ReverseProxy(
            f"http://127.0.0.1:{up_port}", pool_size=1, connect_timeout=0.3, read_timeout=30
        )
        async with serve(with_identity(proxy)) as port, httpx.AsyncClient() as client:
            stalled = asyncio.create_task(client.get(f"http://127.0.0.1:{port}/stall"))
            await asyncio.wait_for(upstream_app.stalled.wait(), timeout=10)
            waiting = await client.get(f"http://127.0.0.1:{port}/next")
            stalled.cancel()
    assert waiting.status_code == 504
    assert "all 1 upstream connections stayed busy" in waiting.json()["message"]
