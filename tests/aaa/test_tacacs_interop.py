"""TACACS+ server against real clients: tacacs_client (PyPI tacacs_plus) and Perl Authen::TacacsPlus."""

from __future__ import annotations

import asyncio

import pytest
from tests.aaa.conftest import PASSWORDS, TAC_KEY, run, running_aaa, tool
from tests.aaa.tacacs_raw import client_packet, pap_start, read_reply

from authgate.aaa.tacacs import packet as tp

pytestmark = pytest.mark.anyio


async def tacacs_client(
    port: int, user: str, *args: str, key: str = TAC_KEY, kind: str = "pap"
) -> tuple[int, str]:
    base = [
        tool("tacacs_client"),
        "-H",
        "127.0.0.1",
        "-p",
        str(port),
        "-k",
        key,
        "-u",
        user,
        "-t",
        kind,
        "-v",
    ]
    return await run(*base, *args, timeout=15)


@pytest.mark.parametrize("kind", ["pap", "ascii"])
async def test_tacacs_client_authenticate(idp, kind: str) -> None:
    async with running_aaa(idp.url) as aaa:
        rc, out = await tacacs_client(
            aaa.tacacs_port, "alice", "authenticate", "-p", PASSWORDS["alice"], kind=kind
        )
        assert rc == 0, out
        assert "status: PASS" in out
        rc, out = await tacacs_client(
            aaa.tacacs_port, "alice", "authenticate", "-p", "wrong", kind=kind
        )
        assert rc == 1, out
        assert "status: FAIL" in out, out
        events = await aaa.events("authn")
        assert [(e.outcome, e.route) for e in events] == [
            ("success", "tacacs"),
            ("failure", "tacacs"),
        ]


async def test_tacacs_client_authorize_shell_gets_priv_lvl(idp) -> None:
    async with running_aaa(idp.url) as aaa:
        for user, level in (("alice", 15), ("bob", 7)):
            rc, out = await tacacs_client(
                aaa.tacacs_port, user, "authorize", "-c", "service=shell", "cmd="
            )
            assert rc == 0, out
            assert f"priv-lvl={level}" in out


async def test_tacacs_client_command_authorization_rules(idp) -> None:
    async with running_aaa(idp.url) as aaa:
        port = aaa.tacacs_port
        show = ("authorize", "-c", "service=shell", "cmd=show", "cmd-arg=version", "cmd-arg=<cr>")
        conf = ("authorize", "-c", "service=shell", "cmd=configure", "cmd-arg=terminal")
        assert (await tacacs_client(port, "bob", *show))[0] == 0
        rc, out = await tacacs_client(port, "bob", *conf)
        assert rc == 1, out
        assert "FAIL" in out, out
        assert (await tacacs_client(port, "alice", *conf))[0] == 0
        assert (await tacacs_client(port, "carol", *show))[0] == 0  # Users → 1: show only
        assert (
            await tacacs_client(port, "carol", "authorize", "-c", "service=shell", "cmd=reload")
        )[0] == 1
        denied = [e for e in await aaa.events("authz") if e.outcome == "failure"]
        assert {e.subject for e in denied} == {"bob", "carol"}
        assert all(e.code == "auth.privilege_too_low" for e in denied)


async def test_tacacs_client_accounting_to_audit(idp) -> None:
    async with running_aaa(idp.url) as aaa:
        for flag in ("start", "stop"):
            rc, out = await tacacs_client(
                aaa.tacacs_port, "bob", "account", "-c", "service=shell", "cmd=show", "-f", flag
            )
            assert rc == 0, out
        events = await aaa.events("accounting")
        assert [e.detail["status"] for e in events if e.detail] == ["start", "stop"]
        assert all(e.subject == "bob" and e.route == "tacacs" for e in events)


async def test_wrong_key_fails_without_crashing(idp) -> None:
    async with running_aaa(idp.url) as aaa:
        rc, out = await tacacs_client(
            aaa.tacacs_port, "alice", "authenticate", "-p", PASSWORDS["alice"], key="wrong"
        )
        assert rc == 1, out
        assert "PASS" not in out, out
        assert aaa.metric("aaa_dropped_packets_total", protocol="tacacs", reason="bad_body") == 1
        rc, out = await tacacs_client(
            aaa.tacacs_port, "alice", "authenticate", "-p", PASSWORDS["alice"]
        )
        assert rc == 0, out  # the server is still serving


def _perl(port: int, user: str, password: str, kind: int, key: str = TAC_KEY) -> list[str]:
    script = (
        "use Authen::TacacsPlus;"
        f'$t=Authen::TacacsPlus->new(Host=>"127.0.0.1",Port=>"{port}",Key=>$ENV{{TK}},Timeout=>5) or die "new";'
        f'print $t->authen($ENV{{TU}},$ENV{{TP}},{kind}) ? "PASS" : "FAIL"; $t->close();'
    )
    return ["perl", "-e", script]


@pytest.mark.parametrize(("kind", "name"), [(1, "ascii"), (2, "pap")])
async def test_perl_authen_tacacsplus(idp, kind: int, name: str) -> None:
    tool("perl")
    async with running_aaa(idp.url) as aaa:
        probe = await run("perl", "-MAuthen::TacacsPlus", "-e", "1")
        if probe[0] != 0:
            pytest.fail("Authen::TacacsPlus is not installed: run scripts/install", pytrace=False)
        for password, want in ((PASSWORDS["bob"], "PASS"), ("wrong", "FAIL")):
            env = {"TK": TAC_KEY, "TU": "bob", "TP": password, "PATH": "/usr/bin:/bin"}
            _rc, out = await run(*_perl(aaa.tacacs_port, "bob", password, kind), env=env)
            assert out.strip().endswith(want), (name, out)


async def test_unencrypted_packets_refused_unless_configured(idp) -> None:
    key = TAC_KEY.encode()
    for allowed, want in ((False, tp.AuthenStatus.ERROR), (True, tp.AuthenStatus.PASS)):
        async with running_aaa(idp.url, {"tacacs": {"allow_unencrypted": allowed}}) as aaa:
            reader, writer = await asyncio.open_connection("127.0.0.1", aaa.tacacs_port)
            body = pap_start("bob", PASSWORDS["bob"])
            writer.write(client_packet(body, key, flags=tp.UNENCRYPTED_FLAG))
            _header, reply = await read_reply(reader, key)
            assert reply[0] == want
            writer.close()
            await writer.wait_closed()


async def test_single_connect_serves_several_sessions(idp) -> None:
    key = TAC_KEY.encode()
    async with running_aaa(idp.url) as aaa:
        reader, writer = await asyncio.open_connection("127.0.0.1", aaa.tacacs_port)
        for session, (user, want) in enumerate((("alice", 1), ("bob", 1), ("bob", 2)), start=1):
            password = PASSWORDS[user] if session < 3 else "wrong"
            writer.write(
                client_packet(
                    pap_start(user, password), key, flags=tp.SINGLE_CONNECT_FLAG, session=session
                )
            )
            header, reply = await read_reply(reader, key)
            assert header.flags & tp.SINGLE_CONNECT_FLAG
            assert header.seq_no == 2
            assert reply[0] == want
        writer.close()
        await writer.wait_closed()
