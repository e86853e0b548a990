"""TACACS+ codec (RFC 8907 §4–§8), sans-IO: header, body obfuscation, and the six bodies.

Parsing checks every declared length against the bytes actually present, so a truncated,
oversized or wrong-key body raises :class:`TacacsError` instead of reading past the end — a
wrong shared key shows up here, as a body whose lengths do not add up (RFC 8907 §4.5).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from enum import IntEnum

__all__ = [
    "AcctRequest",
    "AuthenContinue",
    "AuthenStart",
    "AuthorRequest",
    "Header",
    "TacacsError",
    "acct_reply",
    "authen_reply",
    "author_response",
    "decode_acct_request",
    "decode_authen_continue",
    "decode_authen_start",
    "decode_author_request",
    "decode_header",
    "encode_packet",
    "obfuscate",
]

HEADER_LENGTH = 12
MAJOR = 0xC
UNENCRYPTED_FLAG, SINGLE_CONNECT_FLAG = 0x01, 0x04


class PacketType(IntEnum):
    AUTHEN = 1
    AUTHOR = 2
    ACCT = 3


class AuthenStatus(IntEnum):
    PASS = 0x01
    FAIL = 0x02
    GETDATA = 0x03
    GETUSER = 0x04
    GETPASS = 0x05
    RESTART = 0x06
    ERROR = 0x07
    FOLLOW = 0x21


class AuthenType(IntEnum):
    ASCII = 1
    PAP = 2
    CHAP = 3
    MSCHAP = 5
    MSCHAPV2 = 6


class AuthorStatus(IntEnum):
    PASS_ADD = 0x01
    PASS_REPL = 0x02
    FAIL = 0x10
    ERROR = 0x11


class AcctStatus(IntEnum):
    SUCCESS = 0x01
    ERROR = 0x02


ACTION_LOGIN = 1
REPLY_FLAG_NOECHO = 0x01
CONTINUE_FLAG_ABORT = 0x01
ACCT_FLAG_START, ACCT_FLAG_STOP, ACCT_FLAG_WATCHDOG = 0x02, 0x04, 0x08


class TacacsError(ValueError):
    """A packet we refuse; ``reason`` is a stable label for metrics and logs."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Header:
    """The 12-byte header (RFC 8907 §4.1)."""

    version: int
    type: int
    seq_no: int
    flags: int
    session_id: int
    length: int

    @property
    def minor(self) -> int:
        return self.version & 0x0F


def decode_header(data: bytes, *, max_body: int) -> Header:
    if len(data) < HEADER_LENGTH:
        raise TacacsError("truncated", f"{len(data)}-byte header")
    version, ptype, seq_no, flags, session_id, length = struct.unpack_from("!BBBBII", data)
    if version >> 4 != MAJOR or version & 0x0F > 1:
        raise TacacsError("bad_version", f"version 0x{version:02x}")
    if ptype not in (1, 2, 3):
        raise TacacsError("bad_type", f"packet type {ptype}")
    if length > max_body:
        raise TacacsError("oversized", f"body of {length} bytes exceeds {max_body}")
    return Header(version, ptype, seq_no, flags, session_id, length)


def obfuscate(header: Header, key: bytes, body: bytes) -> bytes:
    """RFC 8907 §4.5: XOR with MD5(session_id‖key‖version‖seq_no[‖previous]) chained; self-inverse."""
    if not key:
        return body
    prefix = struct.pack("!I", header.session_id) + key + bytes((header.version, header.seq_no))
    pad = bytearray()
    block = b""
    while len(pad) < len(body):
        block = hashlib.md5(prefix + block, usedforsecurity=False).digest()
        pad += block
    return bytes(a ^ b for a, b in zip(body, pad, strict=False))


def encode_packet(request: Header, body: bytes, key: bytes, *, flags: int | None = None) -> bytes:
    """The reply to ``request``: same version and session, next sequence number."""
    reply = Header(
        request.version,
        request.type,
        (request.seq_no + 1) & 0xFF,
        request.flags if flags is None else flags,
        request.session_id,
        len(body),
    )
    wire = body if reply.flags & UNENCRYPTED_FLAG else obfuscate(reply, key, body)
    head = struct.pack(
        "!BBBBII",
        reply.version,
        reply.type,
        reply.seq_no,
        reply.flags,
        reply.session_id,
        reply.length,
    )
    return head + wire


class _Reader:
    """Cursor over a body that refuses to read past its end."""

    def __init__(self, body: bytes) -> None:
        self.body, self.pos = body, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.body):
            raise TacacsError("bad_body", "declared lengths exceed the body (wrong key?)")
        chunk = self.body[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def ints(self, fmt: str) -> tuple[int, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def done(self) -> None:
        if self.pos != len(self.body):
            raise TacacsError("bad_body", "body longer than its declared fields (wrong key?)")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class AuthenStart:
    action: int
    priv_lvl: int
    authen_type: int
    authen_service: int
    user: str
    port: str
    rem_addr: str
    data: bytes


def decode_authen_start(body: bytes) -> AuthenStart:
    r = _Reader(body)
    action, priv, atype, service, ulen, plen, rlen, dlen = r.ints("!8B")
    user, port, rem, data = r.take(ulen), r.take(plen), r.take(rlen), r.take(dlen)
    r.done()
    return AuthenStart(action, priv, atype, service, _text(user), _text(port), _text(rem), data)


@dataclass(frozen=True, slots=True)
class AuthenContinue:
    user_msg: bytes
    data: bytes
    flags: int


def decode_authen_continue(body: bytes) -> AuthenContinue:
    r = _Reader(body)
    mlen, dlen, flags = r.ints("!HHB")
    msg, data = r.take(mlen), r.take(dlen)
    r.done()
    return AuthenContinue(msg, data, flags)


def authen_reply(status: int, server_msg: str = "", *, flags: int = 0, data: bytes = b"") -> bytes:
    msg = server_msg.encode()[:0xFFFF]
    return struct.pack("!BBHH", status, flags, len(msg), len(data)) + msg + data


@dataclass(frozen=True, slots=True)
class AuthorRequest:
    authen_method: int
    priv_lvl: int
    authen_type: int
    authen_service: int
    user: str
    port: str
    rem_addr: str
    args: list[str] = field(default_factory=list)


def decode_author_request(body: bytes) -> AuthorRequest:
    r = _Reader(body)
    method, priv, atype, service, ulen, plen, rlen, argc = r.ints("!8B")
    lengths = r.ints(f"!{argc}B") if argc else ()
    user, port, rem = r.take(ulen), r.take(plen), r.take(rlen)
    args = [_text(r.take(n)) for n in lengths]
    r.done()
    return AuthorRequest(method, priv, atype, service, _text(user), _text(port), _text(rem), args)


def author_response(status: int, args: list[str], server_msg: str = "") -> bytes:
    encoded = [a.encode()[:255] for a in args][:255]
    msg = server_msg.encode()[:0xFFFF]
    head = struct.pack("!BBHH", status, len(encoded), len(msg), 0)
    return head + bytes(len(a) for a in encoded) + msg + b"".join(encoded)


@dataclass(frozen=True, slots=True)
class AcctRequest:
    flags: int
    authen_method: int
    priv_lvl: int
    authen_type: int
    authen_service: int
    user: str
    port: str
    rem_addr: str
    args: list[str] = field(default_factory=list)


def decode_acct_request(body: bytes) -> AcctRequest:
    r = _Reader(body)
    flags, method, priv, atype, service, ulen, plen, rlen, argc = r.ints("!9B")
    lengths = r.ints(f"!{argc}B") if argc else ()
    user, port, rem = r.take(ulen), r.take(plen), r.take(rlen)
    args = [_text(r.take(n)) for n in lengths]
    r.done()
    return AcctRequest(
        flags, method, priv, atype, service, _text(user), _text(port), _text(rem), args
    )


def acct_reply(status: int, server_msg: str = "") -> bytes:
    msg = server_msg.encode()[:0xFFFF]
    return struct.pack("!HHB", len(msg), 0, status) + msg
