"""TACACS+ server (RFC 8907) on asyncio streams: authentication, authorization, accounting.

One task per connection reads a 12-byte header, refuses bodies over ``max_body`` before reading
them, de-obfuscates with the client's key (found by source address; unknown → closed), and
answers. ASCII login accepts both client habits: the user in START (then GETPASS) or an empty
user (GETUSER, then GETPASS); PAP carries the password in START. Unencrypted packets get an
ERROR unless allowed (RFC 8907 §4.5). Single-connect (§4.3) keeps the connection for several
sessions when the client asks and the setting allows. Connections, sessions per connection and
steps per session are all bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from dataclasses import dataclass

from authgate.aaa.config import TacacsSettings
from authgate.aaa.metrics import AAAMetrics
from authgate.aaa.service import AAAService, Decision
from authgate.aaa.tacacs import packet as tp
from authgate.aaa.tacacs.packet import AcctStatus, AuthenStatus, AuthorStatus, Header, PacketType

__all__ = ["TacacsServer"]

log = logging.getLogger("authgate.aaa.tacacs")
_MAX_STEPS = 8  # GETUSER, GETPASS and an OTP prompt need three; more is a confused or hostile peer
_ACCT_FLAGS = {
    tp.ACCT_FLAG_START: "start",
    tp.ACCT_FLAG_STOP: "stop",
    tp.ACCT_FLAG_WATCHDOG: "watchdog",
}


@dataclass(slots=True)
class _Login:
    """An ASCII login in progress: what we are waiting for next."""

    user: str
    waiting: str  # "user" | "password" | "otp"
    state: bytes | None = None
    steps: int = 0


class TacacsServer:
    """The listener; ``port`` is the bound port after :meth:`start`."""

    def __init__(self, service: AAAService, settings: TacacsSettings, metrics: AAAMetrics) -> None:
        self.service, self.settings, self.metrics = service, settings, metrics
        self.clients = sorted(
            ((c.network(), c.secret_bytes()) for c in settings.clients),
            key=lambda item: item[0].prefixlen,
            reverse=True,
        )
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, sock: socket.socket | None = None) -> None:
        """Listen on ``sock`` (a worker's ``SO_REUSEPORT`` share) or on the configured address."""
        if sock is not None:
            self._server = await asyncio.start_server(
                self._accept, sock=sock, limit=self.settings.max_body
            )
        else:
            self._server = await asyncio.start_server(
                self._accept, self.settings.host, self.settings.port, limit=self.settings.max_body
            )
        self.port = self._server.sockets[0].getsockname()[1]

    def key_for(self, host: str) -> bytes | None:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return None
        return next((key for net, key in self.clients if address in net), None)

    def _drop(self, reason: str) -> None:
        self.metrics.dropped.labels("tacacs", reason).inc()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        peer = writer.get_extra_info("peername")
        key = self.key_for(str(peer[0])) if peer else None
        if task is None or key is None or len(self._connections) >= self.settings.max_connections:
            self._drop("unknown_client" if key is None else "overloaded")
            writer.close()
            return
        self._connections.add(task)
        try:
            await self._serve(reader, writer, key, str(peer[0]))
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        except tp.TacacsError as exc:
            self._drop(exc.reason)
        except Exception:  # one bad connection must never stop the server
            log.exception("tacacs+ connection from %s failed", peer[0])
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: bytes, ip: str
    ) -> None:
        logins: dict[int, _Login] = {}
        single = False
        sessions = 0
        while True:
            raw = await asyncio.wait_for(
                reader.readexactly(tp.HEADER_LENGTH), self.settings.idle_timeout
            )
            header = tp.decode_header(raw, max_body=self.settings.max_body)
            body = await asyncio.wait_for(
                reader.readexactly(header.length), self.settings.idle_timeout
            )
            if sessions == 0:
                single = (
                    bool(header.flags & tp.SINGLE_CONNECT_FLAG) and self.settings.single_connect
                )
            flags = (tp.SINGLE_CONNECT_FLAG if single else 0) | (header.flags & tp.UNENCRYPTED_FLAG)
            if header.seq_no % 2 == 0 or (header.session_id not in logins and header.seq_no != 1):
                raise tp.TacacsError("bad_sequence", f"seq_no {header.seq_no}")
            if header.flags & tp.UNENCRYPTED_FLAG and not self.settings.allow_unencrypted:
                writer.write(
                    tp.encode_packet(
                        header,
                        _error_body(header, "unencrypted packets are refused"),
                        key,
                        flags=flags,
                    )
                )
                await writer.drain()
                raise tp.TacacsError(
                    "unencrypted", "TAC_PLUS_UNENCRYPTED_FLAG without allow_unencrypted"
                )
            plain = body if header.flags & tp.UNENCRYPTED_FLAG else tp.obfuscate(header, key, body)
            try:
                reply, done = await self._dispatch(header, plain, logins, ip)
            except tp.TacacsError:
                writer.write(
                    tp.encode_packet(
                        header, _error_body(header, "malformed packet"), key, flags=flags
                    )
                )
                await writer.drain()
                raise
            writer.write(tp.encode_packet(header, reply, key, flags=flags))
            await writer.drain()
            if done:
                logins.pop(header.session_id, None)
                sessions += 1
                if not single or sessions >= self.settings.max_sessions_per_connection:
                    return
            elif len(logins) > self.settings.max_sessions_per_connection:
                raise tp.TacacsError("too_many_sessions", "interleaved sessions over the bound")

    async def _dispatch(
        self, header: Header, body: bytes, logins: dict[int, _Login], ip: str
    ) -> tuple[bytes, bool]:
        if header.type == PacketType.AUTHOR:
            request = tp.decode_author_request(body)
            decision = await self.service.authorize(
                request.user, request.args, protocol="tacacs", client_ip=ip
            )
            if decision.allowed:
                return tp.author_response(AuthorStatus.PASS_ADD, list(decision.attributes)), True
            return tp.author_response(AuthorStatus.FAIL, [], "not authorized"), True
        if header.type == PacketType.ACCT:
            acct = tp.decode_acct_request(body)
            status = next(
                (name for bit, name in _ACCT_FLAGS.items() if acct.flags & bit), "unknown"
            )
            attributes = {
                "args": acct.args,
                "port": acct.port,
                "rem_addr": acct.rem_addr,
                "priv_lvl": acct.priv_lvl,
            }
            self.service.account("tacacs", acct.user, status, attributes, client_ip=ip)
            return tp.acct_reply(AcctStatus.SUCCESS), True
        login = logins.get(header.session_id)
        if login is None:
            return await self._start(header, tp.decode_authen_start(body), logins, ip)
        return await self._continue(header, tp.decode_authen_continue(body), login, ip)

    async def _start(
        self, header: Header, start: tp.AuthenStart, logins: dict[int, _Login], ip: str
    ) -> tuple[bytes, bool]:
        if start.action != tp.ACTION_LOGIN:
            return tp.authen_reply(AuthenStatus.FAIL, "only login is supported"), True
        if start.authen_type == tp.AuthenType.PAP:
            password = start.data.decode("utf-8", "replace")
            decision = await self.service.authenticate(
                start.user, password, protocol="tacacs", client_ip=ip
            )
            if decision.outcome == "challenge":  # PAP has no second round: append the code instead
                return tp.authen_reply(AuthenStatus.FAIL, "one-time code required"), True
            return _final(decision), True
        if start.authen_type != tp.AuthenType.ASCII:
            return tp.authen_reply(AuthenStatus.FAIL, "unsupported authentication type"), True
        if start.user:
            logins[header.session_id] = _Login(start.user, "password")
            return tp.authen_reply(
                AuthenStatus.GETPASS, "Password: ", flags=tp.REPLY_FLAG_NOECHO
            ), False
        logins[header.session_id] = _Login("", "user")
        return tp.authen_reply(AuthenStatus.GETUSER, "Username: "), False

    async def _continue(
        self, header: Header, cont: tp.AuthenContinue, login: _Login, ip: str
    ) -> tuple[bytes, bool]:
        login.steps += 1
        if cont.flags & tp.CONTINUE_FLAG_ABORT or login.steps > _MAX_STEPS:
            return tp.authen_reply(AuthenStatus.FAIL, "aborted"), True
        text = cont.user_msg.decode("utf-8", "replace")
        if login.waiting == "user":
            if not text:
                return tp.authen_reply(AuthenStatus.GETUSER, "Username: "), False
            login.user, login.waiting = text, "password"
            return tp.authen_reply(
                AuthenStatus.GETPASS, "Password: ", flags=tp.REPLY_FLAG_NOECHO
            ), False
        if login.waiting == "otp" and login.state is not None:
            decision = await self.service.answer_challenge(
                login.state, text, protocol="tacacs", client_ip=ip
            )
        else:
            decision = await self.service.authenticate(
                login.user, text, protocol="tacacs", client_ip=ip
            )
        if decision.outcome == "challenge":
            login.waiting, login.state = "otp", decision.state
            return tp.authen_reply(
                AuthenStatus.GETPASS, decision.message, flags=tp.REPLY_FLAG_NOECHO
            ), False
        return _final(decision), True

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


def _final(decision: Decision) -> bytes:
    if decision.outcome == "accept":
        return tp.authen_reply(AuthenStatus.PASS)
    return tp.authen_reply(AuthenStatus.FAIL, "Authentication failed")


def _error_body(header: Header, message: str) -> bytes:
    if header.type == PacketType.AUTHOR:
        return tp.author_response(AuthorStatus.ERROR, [], message)
    if header.type == PacketType.ACCT:
        return tp.acct_reply(AcctStatus.ERROR, message)
    return tp.authen_reply(AuthenStatus.ERROR, message)
