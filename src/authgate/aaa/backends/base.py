"""The password-backend interface the AAA servers authenticate against (RFC 2865 PAP semantics).

A backend answers one question — are this username and password (and maybe a one-time code)
right, and which groups does the user belong to — in four ways: accept, reject, "not my user"
(the next backend in ``backends`` order is tried), "cannot tell right now" (Okta down: the
breaker policy decides), or a challenge asking for a one-time code (RADIUS Access-Challenge,
TACACS+ GETPASS). Challenges carry backend-private context that never leaves the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

__all__ = ["AuthResult", "Challenge", "Outcome", "PasswordBackend"]


class Outcome(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"
    CHALLENGE = "challenge"


@dataclass(frozen=True, slots=True)
class Challenge:
    """Ask the user for more (a one-time code). ``context`` is opaque to everyone but its backend."""

    message: str
    context: Any


@dataclass(frozen=True, slots=True)
class AuthResult:
    """What a backend decided. ``cacheable`` is False whenever an OTP or push was involved, so
    the auth cache can never turn a one-time code into a reusable password."""

    outcome: Outcome
    username: str
    groups: frozenset[str] = frozenset()
    code: str | None = None
    challenge: Challenge | None = None
    cacheable: bool = True
    expires_at: float | None = None  # a hint (token ``exp``), never extends the cache TTL
    retry_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class PasswordBackend(Protocol):
    """One place users live (local file, Okta). ``name`` appears in ``backends`` and metrics."""

    name: str

    async def authenticate(self, username: str, password: str) -> AuthResult: ...

    async def answer_challenge(self, context: Any, response: str) -> AuthResult: ...

    async def groups_for(self, username: str) -> AuthResult:
        """Groups without a password (TACACS+ authorization); NOT_FOUND when not ours."""
        ...

    async def aclose(self) -> None: ...
