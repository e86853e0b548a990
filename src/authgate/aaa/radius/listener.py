"""UDP sockets of the RADIUS server (RFC 2865 §3: one datagram, one packet), drained in bursts.

Why not ``loop.create_datagram_endpoint``: asyncio's datagram transport reads one datagram per
event-loop iteration, so every request pays a full ``epoll_wait`` round trip, and it buffers
replies in Python when the socket is full. Here a readable socket is drained — up to ``burst``
datagrams per wake-up, so one busy socket cannot starve the loop's other work — and a reply
that does not fit the kernel's send buffer is dropped and counted: the NAS retransmits and the
duplicate is answered from the reply cache (RFC 5080 §2.2.2), which is what UDP promises anyway.

:func:`bind_udp` optionally sets ``SO_REUSEPORT``, letting several worker processes bind the same
address; Linux then spreads datagrams over them by a hash of the source and destination address
and port, so one NAS source port always reaches the same worker while the group is unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any

__all__ = ["DatagramListener", "bind_udp"]

log = logging.getLogger("authgate.aaa.radius")
Address = tuple[Any, ...]
_MAX_DATAGRAM = 4096  # RFC 2865 §3 maximum packet length
_SEND_BUFFER = 4 << 20  # replies of a burst must fit; the kernel caps it at wmem_max


def bind_udp(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A non-blocking UDP socket bound to ``host:port`` (``port`` 0 = any free port)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            sock.setsockopt(socket.SOL_SOCKET, option, _SEND_BUFFER)
        sock.bind(address)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class DatagramListener:
    """One bound UDP socket on the running loop; ``handler(data, addr)`` runs per datagram."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        burst: int = 64,
        on_send_dropped: Callable[[], None] | None = None,
    ) -> None:
        self.sock, self.burst, self.on_send_dropped = sock, burst, on_send_dropped
        self.handler: Callable[[bytes, Address], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def start(self, handler: Callable[[bytes, Address], None]) -> None:
        self.handler = handler
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        recvfrom, handler = self.sock.recvfrom, self.handler
        if handler is None:
            return
        for _ in range(self.burst):
            try:
                data, addr = recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. a queued ICMP error; the next wake-up reads on
                log.debug("radius recvfrom failed: %s", exc)
                return
            handler(data, addr)

    def sendto(self, data: bytes, addr: Address) -> None:
        if self._closed:
            return
        try:
            self.sock.sendto(data, addr)
        except (BlockingIOError, InterruptedError):
            if self.on_send_dropped is not None:
                self.on_send_dropped()
        except OSError as exc:  # unroutable peer: that reply is lost, the server goes on
            log.debug("radius sendto %s failed: %s", addr[0], exc)

    def is_closing(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()
