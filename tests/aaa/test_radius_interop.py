"""RADIUS server against real clients: radclient/radtest (freeradius-utils) and pyrad."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest
from pyrad import packet as pyrad_packet
from pyrad.client import Client
from pyrad.dictionary import Dictionary
from tests.aaa.conftest import DICTIONARY, PASSWORDS, SECRET, run, running_aaa, tool

from authgate.aaa.radius import packet as rp

pytestmark = pytest.mark.anyio


async def radclient(
    port: int, attrs: str, *, code: str = "auth", secret: str = SECRET, timeout: float = 8
) -> tuple[int, str]:
    return await run(
        tool("radclient"),
        "-x",
        "-r",
        "1",
        "-t",
        str(timeout),
        f"127.0.0.1:{port}",
        code,
        secret,
        stdin=attrs + "\n",
    )


def login(user: str, password: str, *, ma: bool = True) -> str:
    line = f'User-Name = "{user}", User-Password = "{password}", NAS-IP-Address = 127.0.0.1'
    return line + (", Message-Authenticator = 0x00" if ma else "")


@pytest.mark.parametrize(("user", "level"), [("alice", 15), ("bob", 7)])
async def test_radclient_accept_carries_priv_lvl_per_group(idp, user: str, level: int) -> None:
    async with running_aaa(idp.url) as aaa:
        rc, out = await radclient(aaa.radius_port, login(user, PASSWORDS[user]))
        assert rc == 0, out
        assert "Access-Accept" in out
        assert f'Cisco-AVPair = "shell:priv-lvl={level}"' in out
        assert "Message-Authenticator" in out  # always sent on replies (BlastRADIUS)
        events = await aaa.events("authn")
        assert [(e.outcome, e.subject, e.route) for e in events] == [("success", user, "radius")]
        assert aaa.metric("aaa_accepts_total", protocol="radius") == 1


async def test_radclient_wrong_password_rejected_without_leaking_why(idp) -> None:
    async with running_aaa(idp.url) as aaa:
        _rc, out = await radclient(aaa.radius_port, login("alice", "wrong-password"))
        assert "Access-Reject" in out, out
        assert 'Reply-Message = "Authentication failed"' in out
        assert "priv-lvl" not in out
        events = await aaa.events("authn")
        assert events[0].outcome == "failure"
        assert events[0].code == "okta.invalid_grant"


async def test_radtest_compat_client_without_message_authenticator(idp) -> None:
    compat = {
        "radius": {
            "clients": [
                {"cidr": "127.0.0.0/8", "secret": SECRET, "require_message_authenticator": False}
            ]
        }
    }
    async with running_aaa(idp.url, compat) as aaa:
        rc, out = await run(
            tool("radtest"),
            "bob",
            PASSWORDS["bob"],
            f"127.0.0.1:{aaa.radius_port}",
            "0",
            SECRET,
            "0",
            "127.0.0.1",
        )
        assert rc == 0, out
        assert "Access-Accept" in out
        assert "shell:priv-lvl=7" in out


async def test_missing_message_authenticator_is_discarded(idp) -> None:
    """BlastRADIUS (CVE-2024-3596): an Access-Request without Message-Authenticator gets no answer."""
    async with running_aaa(idp.url) as aaa:
        rc, out = await radclient(
            aaa.radius_port, login("alice", PASSWORDS["alice"], ma=False), timeout=1.5
        )
        assert rc != 0, out
        assert "Access-Accept" not in out, out
        assert (
            aaa.metric("aaa_dropped_packets_total", protocol="radius", reason="bad_authenticator")
            >= 1
        )
        assert aaa.metric("aaa_requests_total", protocol="radius", kind="authn") == 0


def _raw_request(
    secret: bytes, *, tamper_ma: bool, user: str, password: str
) -> tuple[bytes, bytes]:
    auth = bytes(range(16))
    attrs = [
        (rp.Attr.USER_NAME, user.encode()),
        (rp.Attr.USER_PASSWORD, rp.hide_password(password.encode(), secret, auth)),
    ]
    data = bytearray(rp.encode_request(rp.Code.ACCESS_REQUEST, 7, auth, secret, attrs))
    if tamper_ma:
        data[22] ^= 0x01  # first attribute is Message-Authenticator; flip one bit of its value
    return bytes(data), auth


def _udp_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.connect(("127.0.0.1", port))
    return sock


async def _udp_exchange(
    port: int, data: bytes, *, count: int = 1, wait: float = 1.0, sock: socket.socket | None = None
) -> list[bytes]:
    """Send ``data`` ``count`` times; every reply that arrives until ``wait`` s of silence."""
    loop = asyncio.get_running_loop()
    own = sock is None
    sock = sock or _udp_socket(port)
    replies: list[bytes] = []
    try:
        for _ in range(count):
            await loop.sock_sendall(sock, data)
        while True:
            try:
                replies.append(await asyncio.wait_for(loop.sock_recv(sock, 4096), wait))
            except TimeoutError:
                return replies
    finally:
        if own:
            sock.close()


async def test_bad_message_authenticator_is_discarded(idp) -> None:
    async with running_aaa(idp.url) as aaa:
        data, _ = _raw_request(
            SECRET.encode(), tamper_ma=True, user="alice", password=PASSWORDS["alice"]
        )
        assert await _udp_exchange(aaa.radius_port, data, wait=0.5) == []
        good, auth = _raw_request(
            SECRET.encode(), tamper_ma=False, user="alice", password=PASSWORDS["alice"]
        )
        [reply] = await _udp_exchange(aaa.radius_port, good)
        assert reply[0] == rp.Code.ACCESS_ACCEPT
        assert rp.verify_reply(reply, auth, SECRET.encode())
        decoded = rp.decode(reply)
        assert (
            decoded.attributes[0][0] == rp.Attr.MESSAGE_AUTHENTICATOR
        )  # first, per BlastRADIUS advice


async def test_duplicate_request_is_decided_once(idp) -> None:
    async with running_aaa(idp.url) as aaa:
        data, _ = _raw_request(
            SECRET.encode(), tamper_ma=False, user="bob", password=PASSWORDS["bob"]
        )
        with _udp_socket(aaa.radius_port) as sock:
            replies = await _udp_exchange(aaa.radius_port, data, count=3, sock=sock)
            assert len(replies) >= 1
            assert len(set(replies)) == 1
            # a late retransmission from the same source port gets the cached reply
            again = await _udp_exchange(aaa.radius_port, data, wait=0.5, sock=sock)
            assert again == [replies[0]]
        assert aaa.metric("aaa_requests_total", protocol="radius", kind="authn") == 1
        assert len(await aaa.events("authn")) == 1


async def test_unknown_client_ip_is_ignored(idp) -> None:
    other = {"radius": {"clients": [{"cidr": "10.99.0.0/16", "secret": SECRET}]}}
    async with running_aaa(idp.url, other) as aaa:
        rc, out = await radclient(aaa.radius_port, login("alice", PASSWORDS["alice"]), timeout=1.5)
        assert rc != 0, out
        assert "Access-" not in out.split("Sent")[-1].replace("Access-Request", ""), out
        assert (
            aaa.metric("aaa_dropped_packets_total", protocol="radius", reason="unknown_client") >= 1
        )


async def test_status_server_answered_on_both_ports(idp) -> None:
    async with running_aaa(idp.url) as aaa:
        for port in (aaa.radius_port, aaa.acct_port):
            rc, out = await radclient(port, "Message-Authenticator = 0x00", code="status")
            assert rc == 0, out
            assert ("Access-Accept" if port == aaa.radius_port else "Accounting-Response") in out


async def test_accounting_recorded_to_audit(idp) -> None:
    async with running_aaa(idp.url) as aaa:
        record = 'User-Name = "alice", Acct-Status-Type = Start, Acct-Session-Id = "s-1", NAS-Identifier = "edge-1"'
        rc, out = await radclient(aaa.acct_port, record, code="acct")
        assert rc == 0, out
        assert "Accounting-Response" in out, out
        [event] = await aaa.events("accounting")
        assert event.subject == "alice"
        assert event.route == "radius"
        assert event.detail is not None
        assert event.detail["status"] == "start"
        assert event.detail["session_id"] == "s-1"


def _pyrad_client(port: int, secret: str = SECRET) -> Client:
    client = Client(
        server="127.0.0.1", authport=port, secret=secret.encode(), dict=Dictionary(str(DICTIONARY))
    )
    client.timeout, client.retries = 3, 1
    return client


def _pyrad_auth(
    port: int, user: str, password: str, state: bytes | None = None
) -> pyrad_packet.Packet:
    client = _pyrad_client(port)
    request = client.CreateAuthPacket(code=pyrad_packet.AccessRequest, User_Name=user)
    request["User-Password"] = request.PwCrypt(password)
    if state is not None:
        request["State"] = state
    request.add_message_authenticator()
    try:
        reply = client.SendPacket(request)
    finally:
        client._socket.close()  # pyrad never closes its socket
    assert reply.verify_message_authenticator(original_authenticator=request.authenticator)
    return reply


async def test_pyrad_accept_reject_and_breakglass_local_user(idp) -> None:
    from tests.aaa.conftest import BREAKGLASS_PASSWORD

    async with running_aaa(idp.url) as aaa:
        port = aaa.radius_port
        accept = await asyncio.to_thread(_pyrad_auth, port, "alice", PASSWORDS["alice"])
        assert accept.code == pyrad_packet.AccessAccept
        assert accept["Cisco-AVPair"] == ["shell:priv-lvl=15"]
        reject = await asyncio.to_thread(_pyrad_auth, port, "bob", "nope")
        assert reject.code == pyrad_packet.AccessReject
        local = await asyncio.to_thread(_pyrad_auth, port, "breakglass", BREAKGLASS_PASSWORD)
        assert local.code == pyrad_packet.AccessAccept
        events = await aaa.events("authn")
        assert [e.detail["source"] for e in events if e.detail] == ["okta", "okta", "local"]


async def test_access_challenge_totp_flow(idp) -> None:
    from authgate.idp.endpoints.authn import totp_code

    async with running_aaa(idp.url) as aaa:
        port = aaa.radius_port
        first = await asyncio.to_thread(_pyrad_auth, port, "carol", PASSWORDS["carol"])
        assert first.code == pyrad_packet.AccessChallenge
        [state] = first["State"]
        assert len(state) == 16  # our own opaque id, never Okta's stateToken
        code = totp_code("JBSWY3DPEHPK3PXP", int(idp.idp.clock.time() // 30))
        second = await asyncio.to_thread(_pyrad_auth, port, "carol", code, state)
        assert second.code == pyrad_packet.AccessAccept
        assert second["Cisco-AVPair"] == ["shell:priv-lvl=1"]
        replay = await asyncio.to_thread(_pyrad_auth, port, "carol", code, state)
        assert replay.code == pyrad_packet.AccessReject  # the State is single use


async def test_reply_templates_class_and_filter_id(idp) -> None:
    templates = {
        "replies": {
            "class": "priv={privilege}",
            "filter_id": "acl-{privilege}",
            "reply_message": "hi {username}",
        }
    }
    async with running_aaa(idp.url, templates) as aaa:
        _rc, out = await radclient(aaa.radius_port, login("bob", PASSWORDS["bob"]))
        assert 'Filter-Id = "acl-7"' in out, out
        assert 'Reply-Message = "hi bob"' in out, out
        assert "Class = 0x7072697633" not in out
        assert "Class = " in out


def test_struct_sanity() -> None:
    assert struct.calcsize("!BBH") == 4
