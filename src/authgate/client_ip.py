"""Client IP resolution behind trusted proxies (X-Forwarded-For, RFC 7239 ``Forwarded`` §5.2).

Why right-most untrusted: every proxy appends the address it received the request from, so
entries to the right were written by our own proxies and entries to the left may be forged by
the client. Starting from the socket peer, we walk right to left while the hop is a trusted
proxy; the first untrusted hop is the client. Forwarding headers from an untrusted peer are
ignored entirely, so a client talking to us directly cannot pick its own limiter key.
Only one header is honoured (``x-forwarded-for`` or ``forwarded``, by configuration): trusting
both would let a client inject the one the proxy does not overwrite. The ASGI scope is read,
never copied or mutated.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

__all__ = ["ClientIPResolver", "parse_forwarded_for"]

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_MAX_HOPS = 32  # a longer chain is junk; bounding it bounds the work per request


def _address(text: str) -> _Address | None:
    """An IP from ``1.2.3.4``, ``1.2.3.4:80``, ``[::1]``, ``[::1]:80`` or ``"[::1]:80"``."""
    value = text.strip().strip('"')
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_forwarded_for(values: Iterable[str]) -> list[str]:
    """The ``for=`` nodes of RFC 7239 ``Forwarded`` headers, in order (raw text, quotes kept)."""
    nodes: list[str] = []
    for value in values:
        for element in value.split(","):
            node = ""
            for pair in element.split(";"):
                name, _, val = pair.partition("=")
                if name.strip().lower() == "for":
                    node = val.strip()
            nodes.append(node)
    return nodes


class ClientIPResolver:
    """Resolves an ASGI scope's client address, honouring forwarding only from trusted CIDRs."""

    def __init__(
        self,
        trusted_proxies: Iterable[str] = (),
        *,
        header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for",
    ) -> None:
        self.networks = tuple(ipaddress.ip_network(c, strict=False) for c in trusted_proxies)
        self.header = header.encode("latin-1")

    def _trusted(self, address: _Address) -> bool:
        return any(address in network for network in self.networks)

    def resolve(self, scope: Mapping[str, Any]) -> str | None:
        """The client IP for an HTTP/WebSocket scope (None when the server gives no peer)."""
        client = scope.get("client")
        peer = _address(client[0]) if client else None
        if peer is None:
            return client[0] if client else None
        if not self.networks or not self._trusted(peer):
            return str(peer)
        return str(self.resolve_chain(peer, self._hops(scope.get("headers") or ())))

    def _hops(self, headers: Sequence[tuple[bytes, bytes]]) -> list[str]:
        values = [v.decode("latin-1") for k, v in headers if k.lower() == self.header]
        if self.header == b"forwarded":
            return parse_forwarded_for(values)
        return [hop for value in values for hop in value.split(",")]

    def resolve_chain(self, peer: _Address, hops: Sequence[str]) -> _Address:
        """Right-most untrusted hop of ``hops + [peer]``; ``peer`` must already be trusted.

        A hop that is not an IP (``unknown``, an obfuscated RFC 7239 name, garbage) ends the
        walk at the last trusted address: it cannot be attributed, and the proxy is ours.
        """
        current = peer
        for hop in reversed(hops[-_MAX_HOPS:]):
            address = _address(hop)
            if address is None:
                return current
            current = address
            if not self._trusted(address):
                return address
        return current
