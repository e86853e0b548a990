"""The authenticated caller (``Principal``) and the claim normalisation that builds it.

One type for every door — JWT, service token, bootstrap token, introspection, RADIUS/TACACS+ —
so route policies never care which credential it was. Claim names follow RFC 7519 §4.1,
RFC 9068 §2.2 (``client_id``, ``scope``), RFC 8693 §4.1 (``act``), RFC 7800 (``cnf``) and
Okta's access-token dialect (``scp`` list, ``cid``, ``uid``, ``ver``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from authgate.errors import AuthError, ErrorCode

__all__ = ["Actor", "ClaimMapping", "Principal", "PrincipalKind", "principal_from_claims"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_SPLIT = re.compile(r"[\s,]+")


class PrincipalKind(StrEnum):
    """Who is calling: a person (``user``), an OAuth client acting for itself (``client``,
    e.g. Okta client credentials: ``sub == cid`` and no ``uid``), or an authgate service token."""

    USER = "user"
    CLIENT = "client"
    SERVICE = "service"


@dataclass(frozen=True, slots=True)
class Actor:
    """One hop of an RFC 8693 §4.1 ``act`` chain: who acted on the subject's behalf."""

    subject: str
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimMapping:
    """Which claims carry scopes, roles, groups and workspaces (per issuer; teams differ)."""

    scope_claims: tuple[str, ...] = ("scp", "scope", "scopes")
    role_claims: tuple[str, ...] = ("role", "roles")
    default_role: str | None = None
    group_claims: tuple[str, ...] = ("groups",)
    workspace_claims: tuple[str, ...] = ("workspace_ids", "workspaces", "workspace_id", "workspace")
    workspace_namespace: str | None = None
    client_id_claims: tuple[str, ...] = ("cid", "azp", "client_id")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. Frozen; ``claims`` is a read-only view of the raw claims."""

    subject: str
    kind: PrincipalKind
    credential: str = "jwt"
    issuer: str | None = None
    client_id: str | None = None
    scopes: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    workspaces: frozenset[str] = frozenset()
    privilege: int | None = None
    token_id: str | None = None
    audiences: tuple[str, ...] = ()
    expires_at: float | None = None
    issued_at: float | None = None
    act: tuple[Actor, ...] = ()
    cnf: Mapping[str, Any] | None = None
    claims: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False, compare=False)

    # -- checks -------------------------------------------------------------------------------
    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def require_scopes(self, *scopes: str, any_of: bool = False) -> None:
        """Raise ``auth.insufficient_scope`` (403, RFC 6750 §3.1) naming what is missing."""
        if not scopes:
            return
        missing = [s for s in scopes if s not in self.scopes]
        if (any_of and len(missing) < len(scopes)) or not missing:
            return
        have = " ".join(sorted(self.scopes)) or "none"
        want = ("one of " if any_of else "") + " ".join(missing if not any_of else scopes)
        raise AuthError(
            ErrorCode.INSUFFICIENT_SCOPE,
            f"token lacks required scope: needs {want}; token has {have}",
            scope=scopes,
        )

    def require_role(self, role: str) -> None:
        """Raise ``auth.role_missing`` (403) with a message naming the role, e.g. "Admin role missing"."""
        if role not in self.roles:
            have = ", ".join(sorted(self.roles)) or "none"
            raise AuthError(ErrorCode.ROLE_MISSING, f"{role} role missing (token roles: {have})")

    def require_workspace(self, workspace: str) -> None:
        """Raise ``auth.workspace_denied`` (403) unless the caller belongs to ``workspace``."""
        if workspace not in self.workspaces:
            raise AuthError(
                ErrorCode.WORKSPACE_DENIED,
                f"not a member of workspace {workspace!r} "
                f"(token workspaces: {', '.join(sorted(self.workspaces)) or 'none'})",
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (CLI ``--json``, admin API); raw claims are left out on purpose."""
        return {
            "subject": self.subject,
            "kind": str(self.kind),
            "credential": self.credential,
            "issuer": self.issuer,
            "client_id": self.client_id,
            "scopes": sorted(self.scopes),
            "roles": sorted(self.roles),
            "groups": sorted(self.groups),
            "workspaces": sorted(self.workspaces),
            "privilege": self.privilege,
            "token_id": self.token_id,
            "audiences": list(self.audiences),
            "expires_at": self.expires_at,
            "issued_at": self.issued_at,
            "act": [{"sub": a.subject, "client_id": a.client_id} for a in self.act],
        }


# -- normalisation ----------------------------------------------------------------------------
def _strings(claim: str, value: Any) -> frozenset[str]:
    """A list of strings, or a space/comma-delimited string (``scope`` per RFC 8693 §4.2)."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(p for p in _SPLIT.split(value) if p)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return frozenset(v for v in value if v)
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and claim.startswith("workspace")
    ):
        return frozenset({str(value)})
    raise AuthError(
        ErrorCode.INVALID_CLAIM,
        f"claim {claim!r} must be a string or a list of strings, got {type(value).__name__}",
        claim=claim,
    )


def _first(claims: Mapping[str, Any], names: Iterable[str]) -> tuple[str, Any] | None:
    for name in names:
        if name in claims:
            return name, claims[name]
    return None


def _collect(claims: Mapping[str, Any], names: Iterable[str]) -> frozenset[str]:
    found = _first(claims, names)
    return _strings(found[0], found[1]) if found else frozenset()


def _actors(value: Any) -> tuple[Actor, ...]:
    chain: list[Actor] = []
    while isinstance(value, Mapping) and len(chain) < 16:  # bound nesting: a chain is short
        sub = value.get("sub")
        if not isinstance(sub, str):
            raise AuthError(
                ErrorCode.INVALID_CLAIM, "claim 'act' must carry a string 'sub'", claim="act"
            )
        cid = value.get("client_id")
        chain.append(Actor(sub, cid if isinstance(cid, str) else None))
        value = value.get("act")
    return tuple(chain)


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def principal_from_claims(
    claims: Mapping[str, Any],
    mapping: ClaimMapping = ClaimMapping(),
    *,
    credential: str = "jwt",
    kind: PrincipalKind | None = None,
) -> Principal:
    """Build a Principal from already-verified claims, using ``mapping`` for the variable names."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise AuthError(ErrorCode.MISSING_CLAIM, "token has no 'sub' (subject) claim", claim="sub")
    found = _first(claims, mapping.client_id_claims)
    client_id = found[1] if found and isinstance(found[1], str) else None
    if kind is None:
        # Okta client-credentials tokens: sub == cid and no uid (okta-wire §3.1).
        is_client = "uid" not in claims and client_id is not None and sub == client_id
        kind = PrincipalKind.CLIENT if is_client else PrincipalKind.USER
    roles = _collect(claims, mapping.role_claims)
    if not roles and mapping.default_role:
        roles = frozenset({mapping.default_role})
    workspaces = _collect(claims, mapping.workspace_claims)
    if mapping.workspace_namespace:
        nested = claims.get(mapping.workspace_namespace)
        if isinstance(nested, Mapping):
            workspaces |= _collect(nested, mapping.workspace_claims)
    aud = claims.get("aud")
    if isinstance(aud, str):
        audiences: tuple[str, ...] = (aud,)
    elif isinstance(aud, list):
        audiences = tuple(a for a in aud if isinstance(a, str))
    else:  # absent, or a malformed value the claims check did not have to judge
        audiences = ()
    iss = claims.get("iss")
    jti = claims.get("jti")
    cnf = claims.get("cnf")
    return Principal(
        subject=sub,
        kind=kind,
        credential=credential,
        issuer=iss if isinstance(iss, str) else None,
        client_id=client_id,
        scopes=_collect(claims, mapping.scope_claims),
        roles=roles,
        groups=_collect(claims, mapping.group_claims),
        workspaces=workspaces,
        token_id=jti if isinstance(jti, str) else None,
        audiences=audiences,
        expires_at=_number(claims, "exp"),
        issued_at=_number(claims, "iat"),
        act=_actors(claims.get("act")),
        cnf=MappingProxyType(dict(cnf)) if isinstance(cnf, Mapping) else None,
        claims=MappingProxyType(dict(claims)),
    )
