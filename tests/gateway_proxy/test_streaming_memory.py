"""300 MB each way through a proxy *process*: hashes match and its peak RSS barely moves.

The proxy runs in its own uvicorn process so ``VmHWM`` (peak resident set, /proc/PID/status)
measures the proxy alone: buffering one body would add 300 MB; streaming adds a few hundred KB
of socket buffers. The upstream (in this process) hashes the upload; the client hashes the
download; neither side stores the body.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from pathlib import Path

import orjson
import pytest

from .conftest import Upstream, pattern, serve

pytestmark = pytest.mark.anyio

SIZE = 300 * 2**20
CHUNK = 2**20
MAX_GROWTH_KB = 48 * 1024  # far below one buffered body (307 200 KB)

PROXY_PROCESS = """
import socket, sys, uvicorn
from authgate.gateway.proxy import ReverseProxy
sock = socket.socket(); sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
config = uvicorn.Config(ReverseProxy(sys.argv[1]), log_level="warning", lifespan="on",
                        proxy_headers=False)
uvicorn.Server(config).run(sockets=[sock])
"""


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


async def upload(port: int, size: int) -> dict[str, object]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /hash HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % size)
    for offset in range(0, size, CHUNK):
        writer.write(pattern(offset, min(CHUNK, size - offset)))
        await writer.drain()
    status, headers = await read_answer(reader)
    body = await reader.readexactly(int(headers[b"content-length"]))
    writer.close()
    assert status == 200
    return dict(orjson.loads(body))


async def download(port: int, size: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /download?size=%d&chunk=%d HTTP/1.1\r\nHost: t\r\n\r\n" % (size, CHUNK))
    status, headers = await read_answer(reader)
    assert status == 200
    assert headers[b"transfer-encoding"] == b"chunked"
    digest = hashlib.sha256()
    while True:
        length = int((await reader.readuntil(b"\r\n")).strip(), 16)
        if length == 0:
            await reader.readuntil(b"\r\n")
            break
        digest.update(await reader.readexactly(length))
        await reader.readexactly(2)
    writer.close()
    return digest.hexdigest()


def expected_digest(size: int) -> str:
    digest = hashlib.sha256()
    for offset in range(0, size, CHUNK):
        digest.update(pattern(offset, min(CHUNK, size - offset)))
    return digest.hexdigest()


async def test_300_mb_each_way_without_buffering(upstream_app: Upstream) -> None:
    async with serve(upstream_app) as up_port:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PROXY_PROCESS, f"http://127.0.0.1:{up_port}",
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            port = int(await asyncio.wait_for(proc.stdout.readline(), timeout=120))
            for _ in range(1000):  # bounded poll until uvicorn accepts
                try:
                    _, probe = await asyncio.open_connection("127.0.0.1", port)
                    probe.close()
                    break
                except OSError:
                    await asyncio.sleep(0.05)
            # warm up both directions so imports and first-use allocations are in the baseline
            await upload(port, 4 * CHUNK)
            await download(port, 4 * CHUNK)
            baseline = peak_rss_kb(proc.pid)

            uploaded = await upload(port, SIZE)
            assert uploaded["size"] == SIZE
            assert uploaded["sha256"] == expected_digest(SIZE)
            assert await download(port, SIZE) == expected_digest(SIZE)

            growth = peak_rss_kb(proc.pid) - baseline
            assert growth < MAX_GROWTH_KB, f"proxy peak RSS grew {growth} KB for 2 × 300 MB"
        finally:
            proc.terminate()
            await proc.wait()
