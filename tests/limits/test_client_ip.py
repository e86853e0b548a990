"""Client IP behind trusted proxies: right-most untrusted hop; spoofed headers ignored."""

from __future__ import annotations

from typing import Any

import pytest

from authgate.client_ip import ClientIPResolver, parse_forwarded_for


def scope(peer: str | None, *headers: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "client": (peer, 5000) if peer else None,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }


XFF = "X-Forwarded-For"
TRUSTED = ["10.0.0.0/8", "fd00::/8"]


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        ("203.0.113.9", [(XFF, "1.2.3.4")], "203.0.113.9"),  # untrusted peer: header ignored
        ("10.0.0.2", [(XFF, "198.51.100.1")], "198.51.100.1"),
        ("10.0.0.2", [(XFF, "6.6.6.6, 198.51.100.1, 10.0.0.5")], "198.51.100.1"),  # spoof left
        ("10.0.0.2", [(XFF, "6.6.6.6"), (XFF, "198.51.100.1")], "198.51.100.1"),  # two headers
        ("10.0.0.2", [(XFF, "10.1.1.1, 10.2.2.2")], "10.1.1.1"),  # all trusted: left-most
        ("10.0.0.2", [], "10.0.0.2"),  # trusted peer, no header
        ("10.0.0.2", [(XFF, "garbage, 10.0.0.9")], "10.0.0.9"),  # unattributable: stop
        ("10.0.0.2", [(XFF, "198.51.100.1:4711")], "198.51.100.1"),
        ("10.0.0.2", [(XFF, "[2001:db8::1]:80")], "2001:db8::1"),
        ("::ffff:10.0.0.2", [(XFF, "198.51.100.3")], "198.51.100.3"),  # v4-mapped peer
        ("fd00::1", [(XFF, "2001:db8::5")], "2001:db8::5"),
        ("10.0.0.2", [("Forwarded", "for=1.1.1.1")], "10.0.0.2"),  # other header not honoured
    ],
)
def test_x_forwarded_for(peer: str, headers: list[tuple[str, str]], expected: str) -> None:
    assert ClientIPResolver(TRUSTED).resolve(scope(peer, *headers)) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Forwarded", 'for=198.51.100.1;proto=https, for="10.0.0.7"')], "198.51.100.1"),
        ([("Forwarded", 'for="[2001:db8:cafe::17]:4711"')], "2001:db8:cafe::17"),
        ([("Forwarded", "for=6.6.6.6, for=unknown")], "10.0.0.2"),
        ([("Forwarded", "proto=http;by=10.0.0.1")], "10.0.0.2"),
        ([("Forwarded", "For=198.51.100.2")], "198.51.100.2"),
        ([(XFF, "198.51.100.9")], "10.0.0.2"),  # XFF not honoured in Forwarded mode
    ],
)
def test_rfc7239_forwarded(headers: list[tuple[str, str]], expected: str) -> None:
    resolver = ClientIPResolver(TRUSTED, header="forwarded")
    assert resolver.resolve(scope("10.0.0.2", *headers)) == expected


def test_no_trusted_proxies_means_the_socket_peer() -> None:
    assert ClientIPResolver().resolve(scope("10.0.0.2", (XFF, "1.2.3.4"))) == "10.0.0.2"
    assert ClientIPResolver().resolve(scope(None)) is None
    assert ClientIPResolver().resolve(scope("unix-socket")) == "unix-socket"


def test_long_chains_are_bounded() -> None:
    chain = ", ".join(["10.9.9.9"] * 1000)
    assert ClientIPResolver(TRUSTED).resolve(scope("10.0.0.2", (XFF, chain))) == "10.9.9.9"


def test_parse_forwarded_for_keeps_order_and_blanks() -> None:
    assert parse_forwarded_for(["for=a;by=b, proto=x", "for=c"]) == ["a", "", "c"]


def test_scope_is_not_mutated() -> None:
    s = scope("10.0.0.2", (XFF, "198.51.100.1"))
    before = repr(s)
    ClientIPResolver(TRUSTED).resolve(s)
    assert repr(s) == before
