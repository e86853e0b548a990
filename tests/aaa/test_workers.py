"""Worker processes on one port (SO_REUSEPORT): steering, duplicates, challenge relay, the CLI."""

from __future__ import annotations

import asyncio
import json
import secrets
import select
import signal
import socket
import struct
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry
from tests.aaa.conftest import BREAKGLASS_PASSWORD, PASSWORDS, SECRET, aaa_config

from authgate.aaa import AAARuntime, build_service, load_config
from authgate.aaa.radius import packet as rp
from authgate.aaa.workers import (
    SocketRelay,
    bind_workers,
    close_sockets,
    decode_relayed,
    encode_relayed,
)

KEY = SECRET.encode()


def _landing(sockets: list[socket.socket]) -> int:
    readable, _, _ = select.select(sockets, [], [], 5.0)
    assert len(readable) == 1
    readable[0].recvfrom(4096)
    return sockets.index(readable[0])


def test_retransmits_reach_one_worker_whatever_the_source_port() -> None:
    config = load_config(data=aaa_config(None, {"tacacs": {"enabled": False}}))
    workers = bind_workers(config, 3)
    try:
        sockets = [w.radius["auth"] for w in workers]
        port = sockets[0].getsockname()[1]
        assert {s.getsockname()[1] for s in sockets} == {port}
        for word in range(9):
            datagram = bytes((1, 7, 0, 20)) + struct.pack("!I", word) + bytes(12)
            landed = set()
            for _ in range(2):  # the same packet from two different source ports
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                    client.sendto(datagram, ("127.0.0.1", port))
                    landed.add(_landing(sockets))
            assert landed == {word % 3}  # Request Authenticator picks the worker
    finally:
        close_sockets(workers)


def test_relay_message_and_owner_rules() -> None:
    message = encode_relayed(b"\x01\x02payload", ("10.1.2.3", 1645))
    assert decode_relayed(message) == (b"\x01\x02payload", ("10.1.2.3", 1645))
    config = load_config(data=aaa_config(None, {"tacacs": {"enabled": False}}))
    workers = bind_workers(config, 2)
    try:
        relay = SocketRelay(workers[1])
        assert relay.owner(bytes([0]) + bytes(15)) == 0
        assert relay.owner(bytes([1]) + bytes(15)) is None  # its own
        assert relay.owner(bytes([9]) + bytes(15)) is None  # no such worker
        assert relay.owner(bytes([0]) * 8) is None  # not a State we issue
        relay.forward(0, b"datagram", ("::1", 1812, 0, 0))
        assert workers[0].relay_in is not None
        received = workers[0].relay_in.recv(4096)
        assert decode_relayed(received) == (b"datagram", ("::1", 1812))
    finally:
        close_sockets(workers)


def _steered_auth(worker: int, count: int) -> bytes:
    while True:
        auth = secrets.token_bytes(16)
        if struct.unpack("!I", auth[:4])[0] % count == worker:
            return auth


def _access_request(user: str, password: str, auth: bytes, state: bytes | None = None) -> bytes:
    attrs = [
        (rp.Attr.USER_NAME, user.encode()),
        (rp.Attr.USER_PASSWORD, rp.hide_password(password.encode(), KEY, auth)),
    ]
    if state is not None:
        attrs.append((rp.Attr.STATE, state))
    return rp.encode_request(rp.Code.ACCESS_REQUEST, secrets.randbelow(256), auth, KEY, attrs)


async def _exchange(port: int, datagram: bytes, auth: bytes) -> bytes:
    def call() -> bytes:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(10.0)
            client.sendto(datagram, ("127.0.0.1", port))
            reply = client.recv(4096)
        assert rp.verify_reply(reply, auth, KEY)
        return reply

    return await asyncio.to_thread(call)


@pytest.mark.anyio
async def test_challenge_answer_on_another_worker_is_relayed(idp) -> None:
    from authgate.idp.endpoints.authn import totp_code

    config = load_config(data=aaa_config(idp.url, {"tacacs": {"enabled": False}}))
    workers = bind_workers(config, 2)
    runtimes = [AAARuntime(config, build_service(config, registry=CollectorRegistry()))]
    runtimes.append(AAARuntime(config, build_service(config, registry=CollectorRegistry())))
    for runtime, sockets in zip(runtimes, workers, strict=True):
        await runtime.start(sockets)
    port = workers[0].radius["auth"].getsockname()[1]
    try:
        auth = _steered_auth(0, 2)
        first = rp.decode(
            await _exchange(port, _access_request("carol", PASSWORDS["carol"], auth), auth)
        )
        assert first.code == rp.Code.ACCESS_CHALLENGE
        state = first.get(rp.Attr.STATE)
        assert state is not None
        assert (len(state), state[0]) == (16, 0)  # issued by worker 0
        code = totp_code("JBSWY3DPEHPK3PXP", int(idp.idp.clock.time() // 30))
        auth = _steered_auth(1, 2)  # the answer lands on worker 1, which holds no challenge
        second = rp.decode(await _exchange(port, _access_request("carol", code, auth, state), auth))
        assert second.code == rp.Code.ACCESS_ACCEPT
        auth = _steered_auth(1, 2)
        replay = rp.decode(await _exchange(port, _access_request("carol", code, auth, state), auth))
        assert replay.code == rp.Code.ACCESS_REJECT  # still single use across workers
    finally:
        for runtime in runtimes:
            await runtime.aclose()
        close_sockets(workers)  # what the runtimes closed already is closed twice, harmlessly


@pytest.mark.anyio
async def test_cli_with_two_workers_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    data: dict[str, Any] = aaa_config(None, {"tacacs": {"enabled": False}, "workers": 2})
    (tmp_path / "aaa.yaml").write_text(yaml.safe_dump(data))
    audit = tmp_path / "audit.jsonl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from authgate.cli.aaa import app; app()",
        "--config",
        str(tmp_path / "aaa.yaml"),
        "--audit-file",
        str(audit),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line.startswith("radius listening on 127.0.0.1 auth "), line
        port = int(line.split()[5])
        assert (await proc.stdout.readline()).decode().strip() == "2 workers"
        for worker in (0, 1, 0, 1):
            auth = _steered_auth(worker, 2)
            request = _access_request("breakglass", BREAKGLASS_PASSWORD, auth)
            reply = rp.decode(await _exchange(port, request, auth))
            assert reply.code == rp.Code.ACCESS_ACCEPT
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, out
        assert b"aaa stopped" in out
        lines = [json.loads(line) for line in audit.read_text().splitlines()]
        # every worker flushed its own audit queue into the one file, whole lines only
        assert [(e["action"], e["outcome"]) for e in lines] == [("authn", "success")] * 4
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
