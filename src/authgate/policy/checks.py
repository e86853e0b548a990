"""A route rule's requirements checked against a Principal (DESIGN.md "Authorize", RFC 6750 §3.1).

Each failed requirement raises the existing stable code — ``auth.insufficient_scope``,
``auth.role_missing``, ``auth.workspace_denied``, ``auth.privilege_too_low``,
``auth.credential_kind_denied``, ``auth.issuer_denied``, ``auth.dpop_required`` or
``auth.access_denied`` — with a message naming what was wanted and what the caller had, so the
answer, the audit event and ``authgate policy test`` all explain the refusal the same way.
Checks run in a fixed order (deny, kind, issuer, DPoP, scopes, roles, workspace, privilege):
the first unmet requirement is the one reported.
"""

from __future__ import annotations

from collections.abc import Mapping

from authgate.errors import AuthError, ErrorCode
from authgate.policy.rules import Rule
from authgate.principal import Principal

__all__ = ["check_rule", "no_rule"]


def no_rule(method: str, host: str, path: str) -> AuthError:
    """The default-deny answer when no rule matches the request."""
    return AuthError(
        ErrorCode.ACCESS_DENIED,
        f"no policy rule allows {method} {path} on host {host or '-'} (default deny)",
    )


def _names(values: frozenset[str]) -> str:
    return ", ".join(sorted(values)) or "none"


def check_rule(
    rule: Rule, principal: Principal, params: Mapping[str, str], *, dpop: bool = False
) -> None:
    """Raise the AuthError for the first requirement of ``rule`` that ``principal`` fails.

    ``dpop`` is true when the request proved possession of a DPoP key (the credential scheme
    was DPoP and its proof was verified by the authenticator).
    """
    if rule.deny:
        raise AuthError(ErrorCode.ACCESS_DENIED, f"{rule.describe()} denies this route")
    if rule.kinds is not None and principal.kind not in rule.kinds:
        raise AuthError(
            ErrorCode.CREDENTIAL_KIND_DENIED,
            f"{principal.kind} credentials may not use this route (allowed: {_names(rule.kinds)})",
        )
    if rule.issuers is not None and principal.issuer not in rule.issuers:
        raise AuthError(
            ErrorCode.ISSUER_DENIED,
            f"tokens from issuer {principal.issuer or 'none'!r} may not use this route",
        )
    if rule.require_dpop and not dpop:
        raise AuthError(
            ErrorCode.DPOP_REQUIRED,
            "this route requires a DPoP-bound token sent with 'Authorization: DPoP' and a proof",
            scheme="DPoP",
        )
    if rule.scopes:
        principal.require_scopes(*rule.scopes)
    if rule.any_scopes:
        principal.require_scopes(*rule.any_scopes, any_of=True)
    for role in rule.roles:
        principal.require_role(role)
    if rule.any_roles and principal.roles.isdisjoint(rule.any_roles):
        raise AuthError(
            ErrorCode.ROLE_MISSING,
            f"one of the roles {', '.join(rule.any_roles)} is needed "
            f"(token roles: {_names(principal.roles)})",
        )
    if rule.workspace_param is not None:
        principal.require_workspace(params.get(rule.workspace_param, ""))
    if rule.min_privilege is not None and (principal.privilege or 0) < rule.min_privilege:
        raise AuthError(
            ErrorCode.PRIVILEGE_TOO_LOW,
            f"privilege level {rule.min_privilege} is needed; the caller has "
            f"{principal.privilege if principal.privilege is not None else 'none'}",
        )
