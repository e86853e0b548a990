"""RADIUS codec (RFC 2865 §3–§5, RFC 2866 §3, RFC 2869 §5.14, RFC 3579 §3.2), sans-IO.

Bytes in, :class:`Packet` out and back; no sockets, so the asyncio server, the fuzzers and the
tests share one implementation. Every authenticator and Message-Authenticator is compared with
``hmac.compare_digest``. The BlastRADIUS mitigation (CVE-2024-3596) lives here as data: replies
carry Message-Authenticator as their *first* attribute, and :func:`check_message_authenticator`
lets the server require it on requests.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass, field
from enum import IntEnum

from authgate.aaa.keyed_hash import keyed_md5

__all__ = [
    "Attr",
    "Code",
    "Packet",
    "RadiusError",
    "check_message_authenticator",
    "cisco_avpair",
    "decode",
    "encode_reply",
    "encode_request",
    "hide_password",
    "unhide_password",
    "vendor_specific",
    "verify_accounting_request",
    "verify_reply",
]

MIN_LENGTH, MAX_LENGTH = 20, 4096  # RFC 2865 §3
CISCO_VENDOR_ID, CISCO_AVPAIR = 9, 1
_MA_HEADER = bytes((80, 18))  # Message-Authenticator, 16-octet value


class Code(IntEnum):
    ACCESS_REQUEST = 1
    ACCESS_ACCEPT = 2
    ACCESS_REJECT = 3
    ACCOUNTING_REQUEST = 4
    ACCOUNTING_RESPONSE = 5
    ACCESS_CHALLENGE = 11
    STATUS_SERVER = 12


class Attr(IntEnum):
    USER_NAME = 1
    USER_PASSWORD = 2
    CHAP_PASSWORD = 3
    NAS_IP_ADDRESS = 4
    NAS_PORT = 5
    SERVICE_TYPE = 6
    FILTER_ID = 11
    REPLY_MESSAGE = 18
    STATE = 24
    CLASS = 25
    VENDOR_SPECIFIC = 26
    SESSION_TIMEOUT = 27
    CALLING_STATION_ID = 31
    NAS_IDENTIFIER = 32
    ACCT_STATUS_TYPE = 40
    ACCT_SESSION_ID = 44
    EAP_MESSAGE = 79
    MESSAGE_AUTHENTICATOR = 80


class RadiusError(ValueError):
    """A packet that cannot be accepted; ``reason`` is a stable label for metrics and logs."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(slots=True)
class Packet:
    """One RADIUS packet; ``attributes`` keeps wire order and repeats (RFC 2865 §5)."""

    code: int
    identifier: int
    authenticator: bytes
    attributes: list[tuple[int, bytes]] = field(default_factory=list)
    raw: bytes = b""
    ma_offset: int | None = None  # where the first Message-Authenticator value starts in ``raw``

    def get(self, attr: int) -> bytes | None:
        """The first value of ``attr``, or None."""
        for kind, value in self.attributes:
            if kind == attr:
                return value
        return None

    def get_all(self, attr: int) -> list[bytes]:
        return [value for kind, value in self.attributes if kind == attr]

    def text(self, attr: int) -> str | None:
        value = self.get(attr)
        return value.decode("utf-8", "replace") if value is not None else None


def decode(data: bytes) -> Packet:
    """Parse one datagram; trailing bytes past ``Length`` are ignored as RFC 2865 §3 says."""
    if len(data) < MIN_LENGTH:
        raise RadiusError("truncated", f"{len(data)} bytes is shorter than a RADIUS header")
    code, identifier, length = struct.unpack_from("!BBH", data)
    if not MIN_LENGTH <= length <= MAX_LENGTH or length > len(data):
        raise RadiusError("bad_length", f"Length {length} does not fit a {len(data)}-byte datagram")
    attributes: list[tuple[int, bytes]] = []
    ma_offset = None
    pos = MIN_LENGTH
    while pos < length:
        if pos + 2 > length:
            raise RadiusError("bad_attribute", "attribute header runs past the packet")
        kind, alen = data[pos], data[pos + 1]
        if alen < 2 or pos + alen > length:
            raise RadiusError("bad_attribute", f"attribute {kind} has length {alen}")
        if kind == Attr.MESSAGE_AUTHENTICATOR and ma_offset is None and alen == 18:
            ma_offset = pos + 2
        attributes.append((kind, data[pos + 2 : pos + alen]))
        pos += alen
    return Packet(code, identifier, data[4:20], attributes, data[:length], ma_offset)


def _attrs_bytes(attributes: list[tuple[int, bytes]]) -> bytes:
    out = bytearray()
    for kind, value in attributes:
        if len(value) > 253:
            raise RadiusError("bad_attribute", f"attribute {kind} value of {len(value)} bytes")
        out += bytes((kind, len(value) + 2)) + value
    return bytes(out)


def _assemble(code: int, identifier: int, authenticator: bytes, attrs: bytes) -> bytes:
    length = MIN_LENGTH + len(attrs)
    if length > MAX_LENGTH:
        raise RadiusError("bad_length", f"packet of {length} bytes exceeds {MAX_LENGTH}")
    return struct.pack("!BBH", code, identifier, length) + authenticator + attrs


def _hmac_md5(secret: bytes, data: bytes) -> bytes:
    return keyed_md5(secret).digest(data)


def encode_reply(
    code: int,
    request: Packet,
    secret: bytes,
    attributes: list[tuple[int, bytes]],
    *,
    message_authenticator: bool = True,
) -> bytes:
    """A reply to ``request`` with Response Authenticator (RFC 2865 §3) and, first of all,
    a Message-Authenticator computed over the request's authenticator (RFC 3579 §3.2)."""
    rest = _attrs_bytes([(k, v) for k, v in attributes if k != Attr.MESSAGE_AUTHENTICATOR])
    body = rest
    if message_authenticator:
        zeroed = _MA_HEADER + bytes(16) + rest
        unsigned = _assemble(code, request.identifier, request.authenticator, zeroed)
        body = _MA_HEADER + _hmac_md5(secret, unsigned) + rest
    provisional = _assemble(code, request.identifier, request.authenticator, body)
    response_auth = hashlib.md5(provisional + secret, usedforsecurity=False).digest()
    return provisional[:4] + response_auth + body


def encode_request(
    code: int,
    identifier: int,
    authenticator: bytes,
    secret: bytes,
    attributes: list[tuple[int, bytes]],
    *,
    message_authenticator: bool = True,
) -> bytes:
    """A client request (tests and the bench); Accounting-Request gets its RFC 2866 §3 MD5."""
    attrs = [(k, v) for k, v in attributes if k != Attr.MESSAGE_AUTHENTICATOR]
    accounting = code == Code.ACCOUNTING_REQUEST
    auth = bytes(16) if accounting else authenticator
    if message_authenticator:
        attrs.insert(0, (Attr.MESSAGE_AUTHENTICATOR, bytes(16)))
        attrs[0] = (
            Attr.MESSAGE_AUTHENTICATOR,
            _hmac_md5(secret, _assemble(code, identifier, auth, _attrs_bytes(attrs))),
        )
    body = _attrs_bytes(attrs)
    if accounting:
        auth = hashlib.md5(
            _assemble(code, identifier, bytes(16), body) + secret, usedforsecurity=False
        ).digest()
    return _assemble(code, identifier, auth, body)


def check_message_authenticator(packet: Packet, secret: bytes, *, required: bool) -> bool:
    """True when the request's Message-Authenticator is valid, or absent and not ``required``.

    Exactly one is allowed (RFC 3579 §3.2). For Accounting-Request the HMAC covers a zero
    Request Authenticator, since that field is itself a digest of the packet.
    """
    values = packet.get_all(Attr.MESSAGE_AUTHENTICATOR)
    if not values:
        return not required
    if len(values) != 1 or len(values[0]) != 16 or packet.ma_offset is None:
        return False
    raw, at = packet.raw, packet.ma_offset
    auth = bytes(16) if packet.code == Code.ACCOUNTING_REQUEST else raw[4:20]
    zeroed = raw[:4] + auth + raw[20:at] + bytes(16) + raw[at + 16 :]
    return hmac.compare_digest(_hmac_md5(secret, zeroed), values[0])


def verify_accounting_request(packet: Packet, secret: bytes) -> bool:
    """RFC 2866 §3: Request Authenticator = MD5(Code+Identifier+Length+16 zero octets+attrs+secret)."""
    expected = hashlib.md5(
        packet.raw[:4] + bytes(16) + packet.raw[20:] + secret, usedforsecurity=False
    ).digest()
    return hmac.compare_digest(expected, packet.authenticator)


def verify_reply(reply: bytes, request_authenticator: bytes, secret: bytes) -> bool:
    """Client side of RFC 2865 §3: the Response Authenticator (tests, bench)."""
    if len(reply) < MIN_LENGTH:
        return False
    expected = hashlib.md5(
        reply[:4] + request_authenticator + reply[20:] + secret, usedforsecurity=False
    ).digest()
    return hmac.compare_digest(expected, reply[4:20])


def _password_pad(secret: bytes, authenticator: bytes, data: bytes, *, hiding: bool) -> bytes:
    out = bytearray()
    prev = authenticator
    for i in range(0, len(data), 16):
        pad = hashlib.md5(secret + prev, usedforsecurity=False).digest()
        block = data[i : i + 16]
        chunk = (int.from_bytes(block) ^ int.from_bytes(pad)).to_bytes(16)
        out += chunk
        prev = chunk if hiding else block
    return bytes(out)


def hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """RFC 2865 §5.2 User-Password hiding (padded to 16 octets, at most 128)."""
    if len(password) > 128:
        raise RadiusError("bad_attribute", "User-Password longer than 128 octets")
    padding = -len(password) % 16 if password else 16
    padded = password + bytes(padding)
    return _password_pad(secret, authenticator, padded, hiding=True)


def unhide_password(hidden: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """Reverse of :func:`hide_password`; trailing NULs are padding (RFC 2865 §5.2)."""
    if not hidden or len(hidden) % 16 or len(hidden) > 128:
        raise RadiusError("bad_attribute", f"User-Password of {len(hidden)} octets")
    return _password_pad(secret, authenticator, hidden, hiding=False).rstrip(b"\x00")


def vendor_specific(vendor_id: int, vendor_type: int, value: bytes) -> tuple[int, bytes]:
    """A Vendor-Specific attribute (RFC 2865 §5.26) with one vendor sub-attribute."""
    return Attr.VENDOR_SPECIFIC, struct.pack("!IBB", vendor_id, vendor_type, len(value) + 2) + value


def cisco_avpair(pair: str) -> tuple[int, bytes]:
    """Cisco-AVPair, e.g. ``shell:priv-lvl=15`` (vendor 9, type 1)."""
    return vendor_specific(CISCO_VENDOR_ID, CISCO_AVPAIR, pair.encode())
