"""Several ``authgate aaa`` processes on one address: Linux ``SO_REUSEPORT`` with RADIUS-aware steering.

Why processes: one Python process is one CPU. The parent binds every worker's sockets before
forking (so ``port: 0`` resolves once and all workers share the port), then each worker runs
its own event loop, service, memory auth cache and audit queue.

Duplicates (RFC 5080 §2.2.2): a classic-BPF program on the RADIUS groups picks the worker from
the Request Authenticator (``authenticator[0:4] mod workers``). A retransmission repeats the
authenticator, so it reaches the worker whose reply cache holds the answer — even when the NAS
changed source port — and one busy NAS on a single port still spreads over every worker.
Without the program (not Linux) the kernel's 4-tuple hash applies: a retransmission from the
same source port still lands on the same worker while the group is unchanged.

Challenges: a new Access-Request answering an Access-Challenge has a fresh authenticator, so
it may land anywhere. The ``State`` we issued starts with the issuing worker's index; any other
worker relays the datagram (after checking its authenticators) over a Unix socket to that one,
which answers from the shared port. TACACS+ needs nothing: a session lives on one connection.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import struct
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from authgate.aaa.config import AAAConfig
from authgate.aaa.radius.listener import bind_udp

__all__ = [
    "SocketRelay",
    "WorkerSockets",
    "bind_workers",
    "close_sockets",
    "decode_relayed",
    "run_workers",
]

Address = tuple[Any, ...]
_SO_ATTACH_REUSEPORT_CBPF = 51  # Linux <asm-generic/socket.h>
_BPF_LD_W_ABS, _BPF_ALU_MOD_K, _BPF_RET_A = 0x20, 0x94, 0x16


@dataclass
class WorkerSockets:
    """What one worker serves on: its share of each port and the relay sockets."""

    index: int
    count: int
    radius: dict[str, socket.socket] = field(default_factory=dict)  # "auth", "acct"
    tacacs: socket.socket | None = None
    relay_in: socket.socket | None = None  # datagrams other workers relay to this one
    relay_out: list[socket.socket] = field(default_factory=list)  # to each worker, by index

    def all(self) -> list[socket.socket]:
        own = [*self.radius.values(), self.tacacs, self.relay_in]
        return [s for s in own if s is not None]


def steer_by_authenticator(sock: socket.socket, count: int) -> bool:
    """Attach ``ld [4]; mod #count; ret a`` to the reuseport group of ``sock`` (Linux ≥ 4.5).

    The program sees the UDP payload, so offset 4 is the Request Authenticator. False when the
    kernel refuses: the default 4-tuple hash then applies.
    """
    program = struct.pack(
        "=HBBI HBBI HBBI", _BPF_LD_W_ABS, 0, 0, 4, _BPF_ALU_MOD_K, 0, 0, count, _BPF_RET_A, 0, 0, 0
    )
    buffer = ctypes.create_string_buffer(program)
    fprog = struct.pack("@HP", 3, ctypes.addressof(buffer))
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_REUSEPORT_CBPF, fprog)
    except OSError:
        return False
    return True


def _tcp_listener(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(512)
    sock.setblocking(False)
    return sock


def bind_workers(config: AAAConfig, count: int) -> list[WorkerSockets]:
    """Every worker's sockets, bound in worker order (the group index is the worker index)."""
    workers = [WorkerSockets(i, count) for i in range(count)]
    if config.radius.enabled:
        for kind in ("auth", "acct"):
            port = config.radius.auth_port if kind == "auth" else config.radius.acct_port
            for worker in workers:
                worker.radius[kind] = bind_udp(config.radius.host, port, reuse_port=True)
                port = worker.radius[kind].getsockname()[1]
            steer_by_authenticator(workers[0].radius[kind], count)
    if config.tacacs.enabled:
        port = config.tacacs.port
        for worker in workers:
            worker.tacacs = _tcp_listener(config.tacacs.host, port)
            port = worker.tacacs.getsockname()[1]
    outs = []
    for worker in workers:
        worker.relay_in, out = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        worker.relay_in.setblocking(False)
        out.setblocking(False)
        outs.append(out)
    for worker in workers:
        worker.relay_out = outs
    return workers


def close_sockets(workers: list[WorkerSockets]) -> None:
    """Close every socket of ``workers`` (this process's copies), relay ends included."""
    for worker in workers:
        for sock in worker.all():
            sock.close()
    for out in workers[0].relay_out if workers else ():
        out.close()


def encode_relayed(data: bytes, addr: Address) -> bytes:
    host = str(addr[0]).encode()
    return struct.pack("!HB", int(addr[1]), len(host)) + host + data


def decode_relayed(message: bytes) -> tuple[bytes, Address]:
    """``(datagram, (host, port))`` from a relay message."""
    port, size = struct.unpack_from("!HB", message)
    host = message[3 : 3 + size].decode()
    return message[3 + size :], (host, port)


class SocketRelay:
    """:class:`~authgate.aaa.radius.server.ChallengeRelay` over the workers' Unix sockets."""

    def __init__(self, sockets: WorkerSockets) -> None:
        self.index, self.count, self.outs = sockets.index, sockets.count, sockets.relay_out

    def owner(self, state: bytes) -> int | None:
        if len(state) != 16 or state[0] >= self.count or state[0] == self.index:
            return None
        return state[0]

    def forward(self, owner: int, data: bytes, addr: Address) -> None:
        # A full relay socket drops the datagram like a full UDP socket would: the NAS retries.
        with contextlib.suppress(OSError):
            self.outs[owner].send(encode_relayed(data, addr))


def run_workers(workers: list[WorkerSockets], serve: Callable[[WorkerSockets], None]) -> int:
    """Fork one process per worker running ``serve``; SIGINT/SIGTERM are passed on.

    If a worker dies the others are stopped and 1 is returned: a shrunken reuseport group would
    re-steer traffic, so the supervisor (systemd, Kubernetes) restarts the whole set instead.
    """
    pids: dict[int, int] = {}
    for worker in workers:
        pid = os.fork()
        if pid == 0:  # the child keeps its own sockets and every relay_out
            code = 0
            try:
                for other in workers:
                    if other is not worker:
                        for sock in other.all():
                            sock.close()
                serve(worker)
            except BaseException:  # noqa: BLE001 - a forked child must never return to the parent's code
                code = 1
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        pids[pid] = worker.index
    close_sockets(workers)
    stopping = False

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        while pids:
            pid, code = os.wait()
            pids.pop(pid, None)
            if code != 0 or not stopping:
                status = 1
                if not stopping:
                    stop(signal.SIGTERM, None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
