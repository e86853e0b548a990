"""Route policies: TOML/YAML parsing with line-numbered errors, matching, checks, reload."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from tests.gateway.conftest import POLICY, MakeGateway
from tests.support.asgi_server import serve

from authgate.errors import AuthError, ErrorCode
from authgate.policy.checks import check_rule
from authgate.policy.reload import PolicyHolder, PolicyWatcher
from authgate.policy.rules import PolicyError, canonical_path, load_policy, parse_policy
from authgate.principal import Principal, PrincipalKind

YAML = """
rules:
  - name: health
    path: /health
    public: true
  - name: ws
    methods: [GET, POST]
    host: "*.example.com"
    path: /ws/{workspace}/docs/{rest:path}
    workspace_param: workspace
    any_scopes: [docs:read, docs:admin]
"""


def user(**fields: object) -> Principal:
    fields.setdefault("kind", PrincipalKind.USER)
    return Principal(subject="alice", **fields)  # type: ignore[arg-type]


def test_toml_rules_match_first_wins_and_default_deny() -> None:
    policy = parse_policy(POLICY, fmt="toml")
    rule, params = policy.match("GET", "api.test", "/api/v1/workspaces/w1/items") or (None, {})
    assert rule is not None
    assert rule.name == "workspace"
    assert params == {"ws": "w1"}
    assert policy.match("DELETE", "api.test", "/api/v1/policies") is None
    found = policy.match("GET", "x", "/api/v1/files/a/b/c.txt")
    assert found is not None
    assert found[1] == {"rest": "a/b/c.txt"}


def test_yaml_rules_with_host_wildcard_and_captures() -> None:
    policy = parse_policy(YAML, fmt="yaml")
    found = policy.match("GET", "api.example.com:443", "/ws/w7/docs/x/y")
    assert found is not None
    assert found[1] == {"workspace": "w7", "rest": "x/y"}
    assert policy.match("GET", "example.com", "/ws/w7/docs/x") is None
    assert policy.match("PUT", "api.example.com", "/ws/w7/docs/x") is None
    assert policy.rules[1].line == 6


@pytest.mark.parametrize(
    ("text", "fmt", "line", "reason"),
    [
        (
            '[[rules]]\npath = "/a"\n\n[[rules]]\npath = "/b"\nscope = ["x"]\n',
            "toml",
            6,
            "did you mean 'scopes'",
        ),
        ('[[rules]]\npath = "/a"\npublic = "yes"\n', "toml", 3, "true or false"),
        ('[[rules]]\npath = "/a"\nmethods = ["GRAB"]\n', "toml", 3, "unknown method"),
        ('[[rules]]\npath = "a"\n', "toml", 2, "must start with '/'"),
        ('[[rules]]\npath = "/a/{x}"\nworkspace_param = "y"\n', "toml", 3, "not a capture"),
        ('[[rules]]\npath = "/a"\npublic = true\nroles = ["Admin"]\n', "toml", 4, "public"),
        ("[[rules]]\npath = \n", "toml", 2, "Invalid value"),
        ("rules:\n  - path: /a\n  - path: /b\n    min_privilege: 99\n", "yaml", 4, "0 to 15"),
        ("rules:\n  - path: /a\n    kinds: [robot]\n", "yaml", 3, "unknown kind"),
        ("rules:\n  - path: [/a\n", "yaml", 3, ""),
        (
            '[[rules]]\nname = "a"\npath = "/a"\n[[rules]]\nname = "a"\npath = "/b"\n',
            "toml",
            4,
            "twice",
        ),
    ],
)
def test_invalid_files_name_line_and_reason(text: str, fmt: str, line: int, reason: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, fmt=fmt, source="p")
    assert info.value.line == line, info.value
    assert reason in info.value.reason
    assert str(info.value.code) == "config.invalid"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/a/b", "/a/b"),
        ("/a/%62?x=1", "/a/b"),
        ("/a/../b", None),
        ("/a/./b", None),
        ("/a/%2e%2e/b", None),
        ("/a%2fb", None),
        ("/a//b", None),
        ("/a%5cb", None),
        ("/a%00b", None),
        ("/a/%ff", None),
        ("/a/%2525", None),
        ("a/b", None),
    ],
)
def test_canonical_path(raw: str, expected: str | None) -> None:
    assert canonical_path(raw) == expected


def test_checks_raise_the_stable_codes() -> None:
    policy = parse_policy(
        '[[rules]]\npath = "/w/{ws}"\nworkspace_param = "ws"\nmin_privilege = 5\n'
        'kinds = ["user"]\nissuers = ["https://iss"]\nscopes = ["a", "b"]\nroles = ["Admin"]\n',
        fmt="toml",
    )
    rule = policy.rules[0]
    good = user(
        issuer="https://iss", scopes=frozenset({"a", "b"}), roles=frozenset({"Admin"}),
        workspaces=frozenset({"w1"}), privilege=7,
    )  # fmt: skip
    check_rule(rule, good, {"ws": "w1"})
    cases = [
        (user(kind=PrincipalKind.SERVICE), ErrorCode.CREDENTIAL_KIND_DENIED),
        (user(issuer="https://other"), ErrorCode.ISSUER_DENIED),
        (user(issuer="https://iss", scopes=frozenset({"a"})), ErrorCode.INSUFFICIENT_SCOPE),
        (user(issuer="https://iss", scopes=frozenset({"a", "b"})), ErrorCode.ROLE_MISSING),
    ]
    for principal, code in cases:
        with pytest.raises(AuthError) as info:
            check_rule(rule, principal, {"ws": "w1"})
        assert info.value.code == code
    with pytest.raises(AuthError) as info:
        check_rule(rule, good, {"ws": "w2"})
    assert info.value.code == ErrorCode.WORKSPACE_DENIED
    low = user(
        issuer="https://iss", scopes=frozenset({"a", "b"}), roles=frozenset({"Admin"}),
        workspaces=frozenset({"w1"}), privilege=3,
    )  # fmt: skip
    with pytest.raises(AuthError) as info:
        check_rule(rule, low, {"ws": "w1"})
    assert info.value.code == ErrorCode.PRIVILEGE_TOO_LOW


def test_role_missing_message_names_the_role() -> None:
    rule = parse_policy('[[rules]]\npath = "/x"\nroles = ["Admin"]\n', fmt="toml").rules[0]
    with pytest.raises(AuthError) as info:
        check_rule(rule, user(), {})
    assert info.value.detail.startswith("Admin role missing")
    assert info.value.status == 403


def test_reload_keeps_old_policy_on_error(tmp_path: Path) -> None:
    file = tmp_path / "policy.toml"
    file.write_text('[[rules]]\npath = "/a"\npublic = true\n')
    holder = PolicyHolder.from_file(file)
    file.write_text('[[rules]]\npath = "/b"\npublic = true\n')
    assert holder.reload() is None
    assert holder.current.rules[0].path == "/b"
    assert holder.generation == 2
    file.write_text('[[rules]]\npath = "/c"\npublik = true\n')
    error = holder.reload()
    assert error is not None
    assert error.line == 3
    assert "publik" in error.reason
    assert holder.current.rules[0].path == "/b"
    assert holder.failures == 1


@pytest.mark.anyio
async def test_file_watch_reloads(tmp_path: Path) -> None:
    file = tmp_path / "policy.yaml"
    file.write_text("rules:\n  - path: /a\n    public: true\n")
    holder = PolicyHolder.from_file(file)
    watcher = PolicyWatcher(holder, debounce_ms=10)
    await watcher.start(sighup=False)
    try:
        for attempt in range(200):  # bounded: the first write may land before the watch is armed
            if holder.generation > 1:
                break
            if attempt % 20 == 0:
                file.write_text(f"rules:\n  - path: /b{attempt}\n    public: true\n")
            await asyncio.sleep(0.05)
        assert holder.generation > 1
        assert holder.current.rules[0].path.startswith("/b")
    finally:
        await watcher.stop()


def test_reload_under_load_drops_no_request(make_gateway: MakeGateway, tmp_path: Path) -> None:
    """8 client threads against a real server while the policy file is rewritten 50 times."""
    file = tmp_path / "policy.toml"
    file.write_text(POLICY)
    gw = make_gateway()
    holder = gw.components.holder  # the very holder the app reads on every request
    holder.path = file
    token = gw.token()
    done = threading.Event()

    shared: list[int] = []  # list.append is atomic: the rewriter watches progress through it

    def hammer(base: str) -> None:
        headers = {"X-Original-URI": "/api/v1/policies", "Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, timeout=10) as http:
            while not done.is_set():
                shared.append(http.get("/authz", headers=headers).status_code)

    with serve(gw.app) as served, ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(hammer, served.url) for _ in range(8)]
        for i in range(50):
            target = len(shared) + 8  # interleave: requests complete between every two swaps
            for _ in range(5000):
                if len(shared) >= target:
                    break
                done.wait(0.001)
            extra = f'\n[[rules]]\nname = "extra-{i}"\npath = "/x{i}"\npublic = true\n'
            file.write_text(POLICY + extra)
            assert holder.reload() is None
        done.set()
        for future in futures:
            future.result()
    assert len(shared) >= 50 * 8
    assert set(shared) == {200}
    assert holder.generation == 51
    assert holder.current.rules[-1].name == "extra-49"


def test_load_policy_reports_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "missing.toml")
    assert "cannot read" in info.value.reason
