"""Scope resolution and access-policy evaluation for custom servers (okta-wire §2.2, §2.7, §8.6).

Requested scopes are checked against the server's scopes, then the first policy rule matching
the app, grant and user decides which of them may be granted. Each refusal uses Okta's status,
``error`` and text, so client code written against Okta handles the dev server the same way.
"""

from __future__ import annotations

from authgate.idp.config import OIDC_SCOPES, AppConfig, PolicyRule, UserConfig
from authgate.idp.errors import OAuthProblem
from authgate.idp.state import ServerState

__all__ = ["evaluate", "requested_scopes", "split_scopes"]

NO_DEFAULTS = (
    "The authorization server resource does not have any configured default scopes, "
    "'scope' must be provided."
)


def split_scopes(value: str | None) -> list[str]:
    """Space-delimited scope string → list, order kept, duplicates dropped."""
    seen: dict[str, None] = {}
    for scope in (value or "").split(" "):
        if scope:
            seen.setdefault(scope, None)
    return list(seen)


def requested_scopes(server: ServerState, value: str | None) -> list[str]:
    """The scopes asked for, or the server's defaults; unknown ones are refused."""
    scopes = split_scopes(value)
    if not scopes:
        scopes = [s.name for s in server.config.scopes if s.default]
        if not scopes:
            raise OAuthProblem(400, "invalid_scope", NO_DEFAULTS)
    known = {s.name for s in server.config.scopes} | set(OIDC_SCOPES)
    if any(scope not in known for scope in scopes):
        raise OAuthProblem(
            400,
            "invalid_scope",
            "One or more scopes are not configured for the authorization server resource.",
        )
    return scopes


def _matches(patterns: list[str], values: list[str]) -> bool:
    return "*" in patterns or any(v in patterns for v in values)


def evaluate(
    server: ServerState,
    app: AppConfig,
    grant: str,
    user: UserConfig | None,
    scopes: list[str],
) -> PolicyRule:
    """The rule that applies; raises when none does or when it grants none/only some scopes."""
    idp = server.idp
    user_groups = [g.name for g in idp.config.user_groups(user)] if user else []
    rule = next(
        (
            r
            for r in server.config.policies
            if _matches(r.clients, [app.client_id, app.name])
            and _matches(r.grants, [grant])
            and (user is None or _matches(r.groups, user_groups))
        ),
        None,
    )
    if rule is None:
        raise OAuthProblem(
            401,
            "access_denied",
            "Policy evaluation failed for this request, please check the policy configurations.",
        )
    denied = [s for s in scopes if "*" not in rule.scopes and s not in rule.scopes]
    if denied and len(denied) == len(scopes):
        raise OAuthProblem(
            400,
            "access_denied",
            "Policy evaluation succeeded, but all the requested scopes were rejected.",
        )
    if denied:
        raise OAuthProblem(
            400,
            "access_denied",
            f"Some of the requested scopes were denied by the policy. Denied scopes: [{', '.join(denied)}].",
        )
    return rule
