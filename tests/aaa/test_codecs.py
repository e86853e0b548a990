"""RADIUS and TACACS+ codecs: cross-checked against pyrad / tacacs_plus, and fuzzed with hypothesis."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from pyrad import packet as pyrad_packet
from pyrad.dictionary import Dictionary
from tacacs_plus.accounting import TACACSAccountingStart
from tacacs_plus.authentication import TACACSAuthenticationContinue, TACACSAuthenticationStart
from tacacs_plus.authorization import TACACSAuthorizationStart
from tests.aaa.conftest import DICTIONARY

from authgate.aaa.radius import packet as rp
from authgate.aaa.tacacs import packet as tp

SECRET = b"testing123"
AUTH = bytes(range(16))


@given(st.binary(max_size=128))
def test_password_hiding_matches_pyrad_and_round_trips(password: bytes) -> None:
    hidden = rp.hide_password(password, SECRET, AUTH)
    reference = pyrad_packet.AuthPacket(
        secret=SECRET, authenticator=AUTH, dict=Dictionary(str(DICTIONARY))
    )
    assert hidden == reference.PwCrypt(password)
    assert rp.unhide_password(hidden, SECRET, AUTH) == password.rstrip(b"\x00")


def test_pyrad_message_authenticator_and_accounting_authenticator_verify() -> None:
    d = Dictionary(str(DICTIONARY))
    request = pyrad_packet.AuthPacket(secret=SECRET, authenticator=AUTH, dict=d, id=9)
    request["User-Name"] = "alice"
    request.add_message_authenticator()
    parsed = rp.decode(request.RequestPacket())
    assert rp.check_message_authenticator(parsed, SECRET, required=True)
    assert not rp.check_message_authenticator(parsed, b"other-secret", required=True)
    unsigned = rp.decode(
        rp.encode_request(1, 3, AUTH, SECRET, [(1, b"x")], message_authenticator=False)
    )
    assert not rp.check_message_authenticator(unsigned, SECRET, required=True)
    assert rp.check_message_authenticator(unsigned, SECRET, required=False)
    acct = pyrad_packet.AcctPacket(secret=SECRET, dict=d, id=4)
    acct["User-Name"] = "bob"
    acct["Acct-Status-Type"] = 1
    parsed_acct = rp.decode(acct.RequestPacket())
    assert rp.verify_accounting_request(parsed_acct, SECRET)
    assert not rp.verify_accounting_request(parsed_acct, b"nope")


def test_reply_authenticator_and_message_authenticator_first() -> None:
    request = rp.decode(rp.encode_request(1, 5, AUTH, SECRET, [(1, b"alice")]))
    reply = rp.encode_reply(2, request, SECRET, [rp.cisco_avpair("shell:priv-lvl=15")])
    assert rp.verify_reply(reply, AUTH, SECRET)
    decoded = rp.decode(reply)
    assert decoded.attributes[0][0] == rp.Attr.MESSAGE_AUTHENTICATOR
    vsa = decoded.get(rp.Attr.VENDOR_SPECIFIC)
    assert vsa is not None
    assert struct.unpack("!IBB", vsa[:6]) == (9, 1, 19)
    assert vsa[6:] == b"shell:priv-lvl=15"


attributes = st.lists(
    st.tuples(st.integers(1, 255).filter(lambda k: k != 80), st.binary(max_size=60)), max_size=20
)


@given(st.integers(0, 255), attributes)
def test_radius_round_trip(identifier: int, attrs: list[tuple[int, bytes]]) -> None:
    decoded = rp.decode(rp.encode_request(1, identifier, AUTH, SECRET, attrs))
    assert decoded.identifier == identifier
    assert decoded.attributes[1:] == attrs
    assert rp.check_message_authenticator(decoded, SECRET, required=True)


@settings(max_examples=500)
@given(st.binary(max_size=5000))
def test_radius_decode_random_bytes_only_raises_radius_error(data: bytes) -> None:
    reason = None
    try:
        packet = rp.decode(data)
    except rp.RadiusError as exc:
        reason = exc.reason
    else:
        assert 20 <= len(packet.raw) <= 4096
    assert reason in {None, "truncated", "bad_length", "bad_attribute"}


@given(st.integers(20, 4096), st.binary(min_size=0, max_size=300))
def test_radius_decode_lying_length(length: int, tail: bytes) -> None:
    data = struct.pack("!BBH", 1, 1, length) + AUTH + tail
    try:
        rp.decode(data)
    except rp.RadiusError:
        return
    assert length <= len(data)


def _header(body: bytes, ptype: int = 1, seq: int = 1) -> tp.Header:
    return tp.Header(0xC1, ptype, seq, 0, 0xDEADBEEF, len(body))


@given(st.binary(max_size=600), st.binary(min_size=1, max_size=40))
def test_obfuscation_is_an_involution_and_key_dependent(body: bytes, key: bytes) -> None:
    header = _header(body)
    hidden = tp.obfuscate(header, key, body)
    assert tp.obfuscate(header, key, hidden) == body
    if len(body) >= 16:
        assert hidden != body


def test_bodies_from_tacacs_plus_library_decode() -> None:
    start = TACACSAuthenticationStart("alice", 2, data=b"secret").packed
    parsed = tp.decode_authen_start(start)
    assert (parsed.user, parsed.authen_type, parsed.data) == ("alice", 2, b"secret")
    cont = tp.decode_authen_continue(TACACSAuthenticationContinue("pw").packed)
    assert cont.user_msg == b"pw"
    author = TACACSAuthorizationStart("bob", 6, 1, 1, [b"service=shell", b"cmd=show"]).packed
    parsed_author = tp.decode_author_request(author)
    assert parsed_author.user == "bob"
    assert parsed_author.args == ["service=shell", "cmd=show"]
    acct = TACACSAccountingStart("bob", 2, 6, 1, 1, [b"cmd=show"]).packed
    parsed_acct = tp.decode_acct_request(acct)
    assert parsed_acct.flags == 2
    assert parsed_acct.args == ["cmd=show"]


@settings(max_examples=500)
@given(st.binary(max_size=400))
def test_tacacs_body_decoders_only_raise_tacacs_error(body: bytes) -> None:
    for decoder in (
        tp.decode_authen_start,
        tp.decode_authen_continue,
        tp.decode_author_request,
        tp.decode_acct_request,
    ):
        reason = None
        try:
            decoder(body)
        except tp.TacacsError as exc:
            reason = exc.reason
        assert reason in {None, "bad_body"}


@given(st.binary(min_size=12, max_size=12))
def test_tacacs_header_random(raw: bytes) -> None:
    reason = None
    try:
        header = tp.decode_header(raw, max_body=65536)
    except tp.TacacsError as exc:
        reason = exc.reason
    else:
        assert header.length <= 65536
        assert header.type in (1, 2, 3)
    assert reason in {None, "bad_version", "bad_type", "oversized"}


@given(st.lists(st.text(max_size=40), max_size=10), st.text(max_size=60))
def test_author_response_layout(args: list[str], message: str) -> None:
    body = tp.author_response(tp.AuthorStatus.PASS_ADD, args, message)
    status, count, msg_len, data_len = struct.unpack_from("!BBHH", body)
    assert (status, count, data_len) == (1, len(args), 0)
    lengths = body[6 : 6 + count]
    assert len(body) == 6 + count + msg_len + sum(lengths)
