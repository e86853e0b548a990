"""Dev IdP configuration: built-in demo, YAML/TOML files, ``${ENV}`` references, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from authgate.errors import ConfigError, ErrorCode
from authgate.idp.config import IdPConfig, expand_env
from authgate.idp.state import IdP


def test_default_demo_org() -> None:
    config = IdPConfig.default()
    assert [s.id for s in config.servers][:2] == ["org", "default"]
    partner = config.servers[2]
    assert partner.id.startswith("aus")
    assert config.server("default").trusted_servers == [partner.id]  # type: ignore[union-attr]
    names = {a.name for a in config.apps}
    assert {
        "demo-service",
        "demo-admin",
        "demo-jwt",
        "demo-dpop",
        "demo-exchange",
        "demo-web",
        "demo-native",
    } <= names
    assert all(a.client_id.startswith("0oa") and len(a.client_id) == 20 for a in config.apps)
    assert all(u.id.startswith("00u") for u in config.users)
    assert all(g.id.startswith("00g") for g in config.groups)
    dave = config.user("dave")
    assert dave is not None
    assert dave.status == "LOCKED_OUT"
    assert [g.name for g in config.user_groups(config.user("alice@example.com"))] == [
        "Everyone",
        "Network-Admins",
    ]  # type: ignore[arg-type]
    assert config.app("demo-native").password_grant is True  # type: ignore[union-attr]
    assert config.app("demo-exchange").token_exchange is True  # type: ignore[union-attr]
    assert config.api_tokens[0].value == "dev-ssws-token"
    assert IdPConfig.default().apps[0].client_id == config.apps[0].client_id  # stable ids


def test_env_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHGATE_IDP_API_TOKEN", "from-env")
    assert IdPConfig.default().api_tokens[0].value == "from-env"
    monkeypatch.setenv("X_SECRET", "s3")
    assert expand_env({"a": ["${X_SECRET}", "${UNSET_X:-dflt}", "plain"]}) == {
        "a": ["s3", "dflt", "plain"]
    }
    monkeypatch.delenv("UNSET_X", raising=False)
    with pytest.raises(ConfigError, match="UNSET_X"):
        IdPConfig.from_mapping({"admin_token": "${UNSET_X}"})


def test_yaml_and_toml_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SECRET", "a-secret-from-the-environment-0123456789")
    yaml_file = tmp_path / "idp.yaml"
    yaml_file.write_text(
        "servers:\n  - id: default\n    audiences: [api://x]\n    scopes: [{name: x:read, default: true}]\n"
        "apps:\n  - name: svc\n    client_secret: ${MY_SECRET}\n"
    )
    config = IdPConfig.load(yaml_file)
    assert config.servers[0].id == "org"  # the org AS is always there
    assert config.app("svc").client_secret == "a-secret-from-the-environment-0123456789"  # type: ignore[union-attr]
    toml_file = tmp_path / "idp.toml"
    toml_file.write_text('[[servers]]\nid = "default"\naudiences = ["api://t"]\n')
    assert IdPConfig.load(toml_file).server("default").audiences == ["api://t"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("servers: [{id: a}, {id: a}]", "duplicate servers: a"),
        ("servers: [{id: a, trusted_servers: [zz]}]", "unknown trusted_servers"),
        ("apps: [{name: x, type: robot}]", "type"),
        ("- just a list", "top level must be a mapping"),
        ("a: [unclosed", "not valid yaml"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        IdPConfig.load(path)
    assert info.value.code == ErrorCode.CONFIG_INVALID
    assert message in info.value.detail


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        IdPConfig.load("/nonexistent/idp.yaml")


def test_private_jwk_only_for_generated_keys() -> None:
    idp = IdP(IdPConfig.default())
    jwk = idp.client_private_jwk("demo-jwt")
    assert {"d", "p", "q", "kid"} <= set(jwk)
    public = idp.client_jwks(idp.config.app("demo-jwt"))  # type: ignore[arg-type]
    assert public is not None
    assert "d" not in public["keys"][0]
    with pytest.raises(KeyError):
        idp.client_private_jwk("demo-service")
