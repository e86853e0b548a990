"""Claim normalisation into Principal (Okta, RFC 9068 and workflow-platform shapes)."""

from __future__ import annotations

import pytest

from authgate.errors import AuthError, ErrorCode
from authgate.principal import Actor, ClaimMapping, PrincipalKind, principal_from_claims

OKTA_CC = {
    "ver": 1,
    "jti": "AT.abc",
    "iss": "https://dev.okta.com/oauth2/default",
    "aud": "api://default",
    "iat": 1_700_000_000,
    "exp": 1_700_003_600,
    "cid": "0oa1",
    "scp": ["api:read", "api:write"],
    "sub": "0oa1",
}


def test_okta_client_credentials_token_is_a_client() -> None:
    p = principal_from_claims(OKTA_CC)
    assert p.kind is PrincipalKind.CLIENT
    assert p.client_id == "0oa1"
    assert p.scopes == {"api:read", "api:write"}
    assert p.token_id == "AT.abc"
    assert p.audiences == ("api://default",)
    assert p.expires_at == 1_700_003_600


def test_okta_user_token_is_a_user() -> None:
    p = principal_from_claims({**OKTA_CC, "uid": "00u1", "sub": "alice@example.com"})
    assert p.kind is PrincipalKind.USER
    assert p.subject == "alice@example.com"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a b", {"a", "b"}),
        ("a,b", {"a", "b"}),
        ("a, b  c", {"a", "b", "c"}),
        (["a", "b"], {"a", "b"}),
        ([], set()),
    ],
)
def test_scope_forms(value: object, expected: set[str]) -> None:
    assert principal_from_claims({"sub": "s", "scope": value}).scopes == expected


def test_scope_claim_is_configurable_and_first_match_wins() -> None:
    mapping = ClaimMapping(scope_claims=("permissions",))
    p = principal_from_claims({"sub": "s", "scp": ["x"], "permissions": "y"}, mapping)
    assert p.scopes == {"y"}


def test_bad_scope_type_is_invalid_claim() -> None:
    with pytest.raises(AuthError) as info:
        principal_from_claims({"sub": "s", "scp": [1, 2]})
    assert info.value.code == ErrorCode.INVALID_CLAIM
    assert info.value.claim == "scp"


def test_roles_default_role_and_require_role_message() -> None:
    p = principal_from_claims({"sub": "s"}, ClaimMapping(default_role="User"))
    assert p.roles == {"User"}
    with pytest.raises(AuthError) as info:
        p.require_role("Admin")
    assert info.value.code == ErrorCode.ROLE_MISSING
    assert info.value.status == 403
    assert info.value.detail.startswith("Admin role missing")
    admin = principal_from_claims({"sub": "s", "role": "Admin"}, ClaimMapping(default_role="User"))
    admin.require_role("Admin")


def test_workspaces_top_level_and_namespaced() -> None:
    mapping = ClaimMapping(workspace_namespace="https://orcheo.dev/claims")
    claims = {
        "sub": "s",
        "workspace_id": "w1",
        "https://orcheo.dev/claims": {"workspace_ids": ["w2", "w3"]},
    }
    p = principal_from_claims(claims, mapping)
    assert p.workspaces == {"w1", "w2", "w3"}
    p.require_workspace("w2")
    with pytest.raises(AuthError) as info:
        p.require_workspace("w9")
    assert info.value.code == ErrorCode.WORKSPACE_DENIED


def test_require_scopes_all_and_any() -> None:
    p = principal_from_claims({"sub": "s", "scp": ["a"]})
    p.require_scopes("a")
    p.require_scopes("a", "b", any_of=True)
    with pytest.raises(AuthError) as info:
        p.require_scopes("a", "b")
    assert info.value.code == ErrorCode.INSUFFICIENT_SCOPE
    assert info.value.scope == ("a", "b")
    assert "needs b" in info.value.detail
    with pytest.raises(AuthError):
        p.require_scopes("x", "y", any_of=True)


def test_act_chain() -> None:
    claims = {"sub": "alice", "act": {"sub": "svc-a", "client_id": "0oaA", "act": {"sub": "svc-b"}}}
    assert principal_from_claims(claims).act == (Actor("svc-a", "0oaA"), Actor("svc-b", None))


def test_missing_sub() -> None:
    with pytest.raises(AuthError) as info:
        principal_from_claims({"scp": ["a"]})
    assert info.value.code == ErrorCode.MISSING_CLAIM


def test_principal_is_frozen_and_claims_read_only() -> None:
    p = principal_from_claims(OKTA_CC)
    with pytest.raises(AttributeError):
        p.subject = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.claims["sub"] = "x"  # type: ignore[index]


def test_to_dict_leaves_out_raw_claims() -> None:
    d = principal_from_claims(OKTA_CC).to_dict()
    assert d["kind"] == "client"
    assert "claims" not in d
    assert d["scopes"] == ["api:read", "api:write"]


@pytest.mark.parametrize("aud", [5, None, {"a": 1}, True, ["x", 3]])
def test_odd_aud_values_never_crash(aud: object) -> None:
    p = principal_from_claims({"sub": "s", "aud": aud})
    assert p.audiences == (("x",) if isinstance(aud, list) else ())


@pytest.mark.parametrize("act", ["svc", {"client_id": "x"}, {"sub": 5}, {"sub": "a", "act": "b"}])
def test_malformed_act_is_refused(act: object) -> None:
    with pytest.raises(AuthError) as info:
        principal_from_claims({"sub": "s", "act": act})
    assert info.value.code == ErrorCode.INVALID_CLAIM


def test_overlong_act_chain_is_refused_not_truncated() -> None:
    act: dict[str, object] = {"sub": "last"}
    for i in range(16):
        act = {"sub": f"a{i}", "act": act}
    with pytest.raises(AuthError):
        principal_from_claims({"sub": "s", "act": act})
