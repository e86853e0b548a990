"""The authenticator plug-in interface: "not mine" returns None, "mine but bad" raises.

Modelled on Starlette's ``AuthenticationBackend`` but typed and credential-centred, so the same
chain serves the gateway, ``/authz``, the FastAPI integration and the CLI. Authenticators are
tried in order by ``authn.chain``; the first that claims the credential decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from authgate.principal import Principal

__all__ = ["Authenticator", "Credential"]


@dataclass(frozen=True, slots=True)
class Credential:
    """What the caller presented, plus the request facts some checks need.

    ``scheme`` is ``"bearer"`` or ``"dpop"`` (RFC 6750 §2.1, RFC 9449 §7.1) or ``"query"`` for a
    WebSocket ``?access_token=``; ``dpop_proof`` is the ``DPoP`` header; ``method``/``url`` are the
    original request's (for DPoP ``htm``/``htu``); ``client_ip`` is already resolved through
    trusted proxies.
    """

    token: str
    scheme: str = "bearer"
    dpop_proof: str | None = None
    method: str | None = None
    url: str | None = None
    client_ip: str | None = None


@runtime_checkable
class Authenticator(Protocol):
    """One way to authenticate. Return None when the credential is not of this kind."""

    async def authenticate(self, credential: Credential) -> Principal | None: ...
