"""Live-server fuzzing: hostile RADIUS datagrams and TACACS+ streams never crash nor grow state."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from tests.aaa.conftest import SECRET, TAC_KEY, ListSink, aaa_config
from tests.aaa.tacacs_raw import client_packet

from authgate.aaa import AAARuntime, build_service, load_config
from authgate.aaa.radius import packet as rp
from authgate.aaa.tacacs import packet as tp
from authgate.observability.audit import AuditLog

SMALL_BODY = 4096


class Threaded:
    """Our servers on their own event loop thread, so sync hypothesis tests can hit them."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runtime: AAARuntime = self.call(self._start())

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _start(self) -> AAARuntime:
        overrides = {
            "tacacs": {"max_body": SMALL_BODY, "idle_timeout": 2},
            "radius": {"max_inflight": 64},
        }
        config = load_config(data=aaa_config(None, overrides))
        registry = CollectorRegistry()
        service = build_service(config, registry=registry, audit=AuditLog([ListSink()]))
        runtime = AAARuntime(config, service)
        await runtime.start()
        return runtime

    def close(self) -> None:
        self.call(self.runtime.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def served() -> Iterator[Threaded]:
    server = Threaded()
    yield server
    server.close()


def _status_server_alive(port: int) -> bool:
    request = rp.encode_request(rp.Code.STATUS_SERVER, 1, bytes(16), SECRET.encode(), [])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(15)
        sock.sendto(request, ("127.0.0.1", port))
        reply, _ = sock.recvfrom(4096)
    return reply[0] == rp.Code.ACCESS_ACCEPT


def _tacacs_alive(port: int) -> bool:
    body = struct.pack("!9B", 0x02, 6, 1, 1, 1, 3, 0, 0, 0) + b"bob"
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(client_packet(body, TAC_KEY.encode(), ptype=3, session=99))
        head = sock.recv(12)
        length = struct.unpack_from("!I", head, 8)[0]
        raw = sock.recv(length)
    header = tp.decode_header(head, max_body=1 << 16)
    return tp.obfuscate(header, TAC_KEY.encode(), raw)[4] == tp.AcctStatus.SUCCESS


def _signed(attrs: list[tuple[int, bytes]], code: int) -> bytes:
    return rp.encode_request(code, 7, bytes(range(16)), SECRET.encode(), attrs)


radius_datagrams = st.one_of(
    st.binary(max_size=5000),
    st.builds(
        lambda code, n, tail: struct.pack("!BBH", code, 1, n) + bytes(16) + tail,
        st.integers(0, 255),
        st.integers(0, 65535),
        st.binary(max_size=200),
    ),
    st.builds(
        _signed,
        st.lists(
            st.tuples(st.integers(1, 255).filter(lambda k: k != 80), st.binary(max_size=80)),
            max_size=12,
        ),
        st.sampled_from([1, 4, 12, 2, 40]),
    ),
)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(radius_datagrams)
def test_radius_server_survives_hostile_datagrams(served: Threaded, datagram: bytes) -> None:
    assert served.runtime.radius is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(datagram, ("127.0.0.1", served.runtime.radius.auth_port))
        sock.sendto(datagram, ("127.0.0.1", served.runtime.radius.acct_port))


def test_radius_state_is_bounded_after_fuzzing(served: Threaded) -> None:
    radius = served.runtime.radius
    assert radius is not None
    for i in range(3000):  # a flood of distinct valid requests: the reply cache stays bounded
        auth = i.to_bytes(16, "big")
        hidden = rp.hide_password(b"x", SECRET.encode(), auth)
        data = rp.encode_request(1, i % 256, auth, SECRET.encode(), [(1, b"nobody"), (2, hidden)])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(data, ("127.0.0.1", radius.auth_port))
    assert _status_server_alive(radius.auth_port)
    assert len(radius._replies) <= 65_536
    assert len(radius._tasks) <= radius.settings.max_inflight
    assert len(served.runtime.service._challenges.items) == 0


tacacs_streams = st.one_of(
    st.binary(max_size=3000),
    st.builds(
        lambda ptype, seq, flags, length, body: (
            struct.pack("!BBBBII", 0xC1, ptype, seq, flags, 1, length) + body
        ),
        st.integers(0, 4),
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 2**32 - 1),
        st.binary(max_size=300),
    ),
    st.builds(
        lambda body, ptype: client_packet(body, TAC_KEY.encode(), ptype=ptype),
        st.binary(max_size=300),
        st.integers(1, 3),
    ),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tacacs_streams)
def test_tacacs_server_survives_hostile_streams(served: Threaded, stream: bytes) -> None:
    assert served.runtime.tacacs is not None
    with socket.create_connection(("127.0.0.1", served.runtime.tacacs.port), timeout=15) as sock:
        try:
            sock.sendall(stream)
            sock.shutdown(socket.SHUT_WR)
            sock.recv(65536)  # whatever comes back, the server ends the connection
        except OSError:
            pass


def test_tacacs_server_alive_and_connections_released(served: Threaded) -> None:
    tacacs = served.runtime.tacacs
    assert tacacs is not None
    assert _tacacs_alive(tacacs.port)
    oversized = struct.pack("!BBBBII", 0xC1, 1, 1, 0, 5, SMALL_BODY + 1)
    with socket.create_connection(("127.0.0.1", tacacs.port), timeout=15) as sock:
        sock.sendall(oversized)
        assert sock.recv(100) == b""  # refused before reading the body

    async def settled() -> int:
        for _ in range(200):
            if not tacacs._connections:
                break
            await asyncio.sleep(0.01)
        return len(tacacs._connections)

    assert served.call(settled()) == 0
