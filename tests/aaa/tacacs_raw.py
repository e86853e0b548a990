"""A minimal raw TACACS+ client (RFC 8907 §4–§5) for what the real clients cannot send."""

from __future__ import annotations

import asyncio
import struct

from authgate.aaa.tacacs import packet as tp


def pap_start(user: str, password: str) -> bytes:
    u, p = user.encode(), password.encode()
    return struct.pack("!8B", 1, 1, 2, 1, len(u), 4, 0, len(p)) + u + b"tty0" + p


def client_packet(
    body: bytes,
    key: bytes,
    *,
    ptype: int = 1,
    seq: int = 1,
    flags: int = 0,
    session: int = 0x1234,
    minor: int = 1,
) -> bytes:
    header = tp.Header(0xC0 | minor, ptype, seq, flags, session, len(body))
    wire = body if flags & tp.UNENCRYPTED_FLAG else tp.obfuscate(header, key, body)
    return struct.pack("!BBBBII", header.version, ptype, seq, flags, session, len(body)) + wire


async def read_reply(reader: asyncio.StreamReader, key: bytes) -> tuple[tp.Header, bytes]:
    raw = await asyncio.wait_for(reader.readexactly(12), 5)
    header = tp.decode_header(raw, max_body=1 << 20)
    body = await asyncio.wait_for(reader.readexactly(header.length), 5)
    plain = body if header.flags & tp.UNENCRYPTED_FLAG else tp.obfuscate(header, key, body)
    return header, plain
