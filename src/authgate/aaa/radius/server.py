"""RADIUS authentication and accounting servers (RFC 2865, RFC 2866, RFC 5997) on asyncio UDP.

A thin shell around :mod:`authgate.aaa.radius.packet` and :class:`~authgate.aaa.service.AAAService`:
find the client by source address (unknown → silently ignored), check the authenticators
(Message-Authenticator required unless the client's compat switch says otherwise — the
BlastRADIUS mitigation; invalid → silently discarded, RFC 3579 §3.2), answer retransmissions
from a reply cache so a duplicate is decided once (RFC 5080 §2.2.2), and bound the work in
flight so a flood costs dropped packets, not memory.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from authgate.aaa.config import RadiusSettings, ReplyTemplates
from authgate.aaa.metrics import AAAMetrics
from authgate.aaa.radius import packet as rp
from authgate.aaa.radius.listener import DatagramListener, bind_udp
from authgate.aaa.radius.packet import Attr, Code
from authgate.aaa.service import AAAService, Decision
from authgate.clock import Clock, system_clock

__all__ = ["ChallengeRelay", "RadiusServer"]

log = logging.getLogger("authgate.aaa.radius")
_MAX_REPLY_CACHE = 65_536
_ACCT_STATUS = {1: "start", 2: "stop", 3: "interim-update", 7: "accounting-on", 8: "accounting-off"}
_MAX_ACCEPT_MEMO = 10_000
Address = tuple[Any, ...]
_Attrs = tuple[tuple[int, bytes], ...]


@dataclass(frozen=True, slots=True)
class _Client:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    secret: bytes
    require_ma: bool
    name: str


class ChallengeRelay(Protocol):
    """Hands an Access-Request answering a challenge to the worker process that issued it."""

    def owner(self, state: bytes) -> int | None:
        """The other worker holding ``state``; None when it is this one's (or nobody's)."""
        ...

    def forward(self, owner: int, data: bytes, addr: Address) -> None: ...


class RadiusServer:
    """Auth and accounting listeners; ``auth_port``/``acct_port`` are the bound ports."""

    def __init__(
        self,
        service: AAAService,
        settings: RadiusSettings,
        replies: ReplyTemplates,
        metrics: AAAMetrics,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self.service, self.settings, self.replies, self.metrics = (
            service,
            settings,
            replies,
            metrics,
        )
        self.clock = clock
        clients = [
            _Client(c.network(), c.secret_bytes(), c.require_message_authenticator, c.name)
            for c in settings.clients
        ]
        self.clients = sorted(clients, key=lambda c: c.network.prefixlen, reverse=True)
        self._replies: OrderedDict[tuple[Any, ...], tuple[float, bytes | None]] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._by_host: dict[str, _Client | None] = {}
        self._accept_memo: dict[tuple[str, int | None, frozenset[str]], _Attrs] = {}
        self.listeners: dict[str, DatagramListener] = {}
        self.relay: ChallengeRelay | None = None  # set when running as one of several workers
        self.auth_port = 0
        self.acct_port = 0

    async def start(self, sockets: Mapping[str, socket.socket] | None = None) -> None:
        """Serve on ``sockets`` (``auth``/``acct``, already bound: a worker's share of a
        ``SO_REUSEPORT`` group), or bind ``settings.host`` and the configured ports."""
        for kind, port in (("auth", self.settings.auth_port), ("acct", self.settings.acct_port)):
            sock = sockets[kind] if sockets else bind_udp(self.settings.host, port)
            listener = DatagramListener(sock, on_send_dropped=partial(self._drop, "send_buffer"))
            listener.start(partial(self.received, kind, listener))
            self.listeners[kind] = listener
        self.auth_port = self.listeners["auth"].port
        self.acct_port = self.listeners["acct"].port

    def client_for(self, host: str) -> _Client | None:
        """Longest-prefix match, memoized per source address (a NAS fleet is small)."""
        if host in self._by_host:
            return self._by_host[host]
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return None
        found = next((c for c in self.clients if address in c.network), None)
        if len(self._by_host) >= _MAX_REPLY_CACHE:  # spoofed sources must not grow it forever
            self._by_host.clear()
        self._by_host[host] = found
        return found

    def _drop(self, reason: str) -> None:
        self.metrics.dropped.labels("radius", reason).inc()

    # -- receive path (synchronous: nothing here waits) --------------------------------------
    def received(
        self,
        kind: str,
        transport: DatagramListener,
        data: bytes,
        addr: Address,
        *,
        relayed: bool = False,
    ) -> None:
        client = self.client_for(str(addr[0]))
        if client is None:
            return self._drop("unknown_client")
        try:
            packet = rp.decode(data)
        except rp.RadiusError as exc:
            return self._drop(exc.reason)
        key = (addr[0], addr[1], kind, packet.identifier, packet.authenticator)
        now = self.clock.monotonic()
        cached = self._cached(key, now)
        if cached is not None:
            if cached[1] is not None:
                transport.sendto(cached[1], addr)
            return self._drop("duplicate")
        allowed = (
            (Code.ACCESS_REQUEST, Code.STATUS_SERVER)
            if kind == "auth"
            else (
                Code.ACCOUNTING_REQUEST,
                Code.STATUS_SERVER,
            )
        )
        if packet.code not in allowed:
            return self._drop("unexpected_code")
        if not self._authentic(packet, client):
            return self._drop("bad_authenticator")
        if self.relay is not None and not relayed and packet.code == Code.ACCESS_REQUEST:
            state = packet.get(Attr.STATE)
            owner = self.relay.owner(state) if state is not None else None
            if owner is not None:  # the challenge is pending in another worker process
                self.relay.forward(owner, data, addr)
                return None
        if packet.code == Code.STATUS_SERVER:
            self.service.metrics.requests.labels("radius", "status").inc()
            code = Code.ACCESS_ACCEPT if kind == "auth" else Code.ACCOUNTING_RESPONSE
            return self._send(
                key, transport, addr, rp.encode_reply(code, packet, client.secret, [])
            )
        if packet.code == Code.ACCOUNTING_REQUEST:
            self._account(packet, str(addr[0]))
            # No Message-Authenticator here: RFC 2866 has none, and some clients (radclient
            # 3.2.1) check it against the wrong vector; BlastRADIUS concerns Access-* only.
            reply = rp.encode_reply(
                Code.ACCOUNTING_RESPONSE, packet, client.secret, [], message_authenticator=False
            )
            return self._send(key, transport, addr, reply)
        credentials = _credentials(packet, client)
        if credentials is not None and packet.get(Attr.STATE) is None:
            hit = self.service.cached(*credentials, protocol="radius", client_ip=str(addr[0]))
            if hit is not None:
                return self._send(key, transport, addr, self._reply(packet, client, hit))
        if len(self._tasks) >= self.settings.max_inflight:
            return self._drop("overloaded")
        self._remember(key, None, now)  # in progress: retransmissions are dropped meanwhile
        task = asyncio.get_running_loop().create_task(
            self._access(packet, client, key, transport, addr)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    def _authentic(self, packet: rp.Packet, client: _Client) -> bool:
        if packet.code == Code.ACCOUNTING_REQUEST:
            if not rp.verify_accounting_request(packet, client.secret):
                return False
            return rp.check_message_authenticator(packet, client.secret, required=False)
        required = client.require_ma or packet.code == Code.STATUS_SERVER  # RFC 5997 §3
        return rp.check_message_authenticator(packet, client.secret, required=required)

    def _cached(self, key: tuple[Any, ...], now: float) -> tuple[float, bytes | None] | None:
        found = self._replies.get(key)
        if found is not None and found[0] <= now:
            del self._replies[key]
            return None
        return found

    def _remember(self, key: tuple[Any, ...], reply: bytes | None, now: float) -> None:
        self._replies[key] = (now + self.settings.duplicate_ttl, reply)
        while len(self._replies) > _MAX_REPLY_CACHE:
            self._replies.popitem(last=False)

    def _send(
        self,
        key: tuple[Any, ...],
        transport: DatagramListener,
        addr: Address,
        reply: bytes,
    ) -> None:
        self._remember(key, reply, self.clock.monotonic())
        transport.sendto(reply, addr)

    def _account(self, packet: rp.Packet, client_ip: str) -> None:
        raw_status = packet.get(Attr.ACCT_STATUS_TYPE)
        status = int.from_bytes(raw_status) if raw_status and len(raw_status) == 4 else 0
        attributes = {
            "session_id": packet.text(Attr.ACCT_SESSION_ID),
            "nas": packet.text(Attr.NAS_IDENTIFIER),
        }
        self.service.account(
            "radius",
            packet.text(Attr.USER_NAME) or "",
            _ACCT_STATUS.get(status, str(status)),
            attributes,
            client_ip=client_ip,
        )

    # -- Access-Request (asynchronous: backends are awaited) ---------------------------------
    async def _access(
        self,
        packet: rp.Packet,
        client: _Client,
        key: tuple[Any, ...],
        transport: DatagramListener,
        addr: Address,
    ) -> None:
        try:
            decision = await self._decide(packet, client, str(addr[0]))
            reply = self._reply(packet, client, decision)
        except Exception:  # one bad request must never stop the server
            log.exception("radius request from %s failed", addr[0])
            self._replies.pop(key, None)
            return
        if not transport.is_closing():
            self._send(key, transport, addr, reply)

    async def _decide(self, packet: rp.Packet, client: _Client, client_ip: str) -> Decision:
        credentials = _credentials(packet, client)
        if credentials is None:  # CHAP/EAP cannot be checked against Okta; garbled password
            username = packet.text(Attr.USER_NAME) or ""
            return Decision("reject", username, code="auth.invalid_request")
        username, password = credentials
        state = packet.get(Attr.STATE)
        if state is not None:
            return await self.service.answer_challenge(
                state, password, protocol="radius", client_ip=client_ip
            )
        return await self.service.authenticate(
            username, password, protocol="radius", client_ip=client_ip
        )

    def _reply(self, packet: rp.Packet, client: _Client, decision: Decision) -> bytes:
        attrs: list[tuple[int, bytes]] = []
        if decision.outcome == "accept":
            code = Code.ACCESS_ACCEPT
            attrs += self._accept_attributes(decision)
        elif decision.outcome == "challenge" and decision.state is not None:
            code = Code.ACCESS_CHALLENGE
            attrs += [(Attr.STATE, decision.state), (Attr.REPLY_MESSAGE, decision.message.encode())]
        else:
            code = Code.ACCESS_REJECT
            attrs.append((Attr.REPLY_MESSAGE, self.replies.reject_message.encode()[:253]))
        return rp.encode_reply(code, packet, client.secret, attrs)

    def _accept_attributes(self, decision: Decision) -> tuple[tuple[int, bytes], ...]:
        """The templated Access-Accept attributes, rendered once per (user, level, groups)."""
        key = (decision.username, decision.privilege, decision.groups)
        found = self._accept_memo.get(key)
        if found is not None:
            return found
        values = {
            "privilege": decision.privilege,
            "username": decision.username,
            "groups": ",".join(sorted(decision.groups)),
        }
        attrs = [rp.cisco_avpair(t.format(**values)) for t in self.replies.cisco_avpairs]
        for attr, template in (
            (Attr.CLASS, self.replies.class_),
            (Attr.FILTER_ID, self.replies.filter_id),
            (Attr.REPLY_MESSAGE, self.replies.reply_message),
        ):
            if template:
                attrs.append((attr, template.format(**values).encode()[:253]))
        if len(self._accept_memo) >= _MAX_ACCEPT_MEMO:
            self._accept_memo.clear()
        found = self._accept_memo[key] = tuple(attrs)
        return found

    async def aclose(self) -> None:
        for listener in self.listeners.values():
            listener.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _credentials(packet: rp.Packet, client: _Client) -> tuple[str, str] | None:
    """User-Name and the revealed User-Password (RFC 2865 §5.2), or None when unusable."""
    hidden = packet.get(Attr.USER_PASSWORD)
    if hidden is None:
        return None
    try:
        password = rp.unhide_password(hidden, client.secret, packet.authenticator).decode()
    except (rp.RadiusError, UnicodeDecodeError):
        return None
    return packet.text(Attr.USER_NAME) or "", password
