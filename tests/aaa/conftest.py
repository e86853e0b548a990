"""AAA test harness: the dev IdP as Okta, our servers on 127.0.0.1:0, real client tools."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from tests.support.idp_server import ServedIdP, running_idp

from authgate.aaa import AAARuntime, build_service, load_config
from authgate.aaa.backends.local import hash_password
from authgate.clock import Clock, ManualClock, system_clock
from authgate.idp.demo_config import DEMO
from authgate.observability.audit import AuditEvent, AuditLog

SECRET = "testing123"
TAC_KEY = "testkey"
DICTIONARY = Path(__file__).with_name("dictionary")
PASSWORDS = {u["login"].split("@")[0]: u["password"] for u in DEMO["users"]}
BREAKGLASS_PASSWORD = "break-glass-DEV-1"
# Few iterations: the tests exercise the format, not the cost (a loaded CI box must not time out).
_BREAKGLASS_HASH = hash_password(BREAKGLASS_PASSWORD, scheme="pbkdf2_sha256", iterations=1000)


def tool(name: str) -> str:
    """Path of a client tool; a missing one FAILS the test (never skips)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed: run scripts/install", pytrace=False)
    return found


async def run(
    *argv: str, stdin: str | None = None, timeout: float = 30.0, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Run a client tool without blocking the event loop that serves it; (exit code, output)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    out, _ = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


class ListSink:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    async def write(self, events: Sequence[AuditEvent]) -> None:
        self.events.extend(events)


class ClockSleeper:
    """Waiting moves the manual clock instead of sleeping (retries, push polls)."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = (
            merge(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def aaa_config(idp_url: str | None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    client = {"cidr": "127.0.0.0/8", "secret": SECRET, "name": "loopback"}
    data: dict[str, Any] = {
        "radius": {"auth_port": 0, "acct_port": 0, "clients": [client]},
        "tacacs": {"port": 0, "clients": [{"cidr": "127.0.0.0/8", "secret": TAC_KEY}]},
        "backends": ["local", "okta"] if idp_url else ["local"],
        "local_users": {
            "breakglass": {"password_hash": _BREAKGLASS_HASH, "groups": ["Network-Admins"]}
        },
        "cache": {"key": "test-cache-key-0123456789abcdef", "key_env": None},
        "mfa": {"push_poll_interval": 0.5, "push_timeout": 10},
        "command_rules": [
            {"pattern": ".*", "min_privilege": 15},
            {"pattern": "configure .*", "min_privilege": 7, "allow": False},
            {"pattern": "show .*", "min_privilege": 1},
        ],
    }
    if idp_url:
        data["okta"] = {
            "org_url": idp_url,
            "api_token": "dev-ssws-token",
            "api_token_env": None,
            "allow_insecure_http": True,
            "login_suffix": "@example.com",
            "circuit_threshold": 3,
            "circuit_cooldown": 30,
        }
    return merge(data, overrides or {})


@dataclass
class AAA:
    runtime: AAARuntime
    registry: CollectorRegistry
    sink: ListSink
    audit: AuditLog
    clock: Clock
    sleeper: ClockSleeper | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def radius_port(self) -> int:
        assert self.runtime.radius is not None
        return self.runtime.radius.auth_port

    @property
    def acct_port(self) -> int:
        assert self.runtime.radius is not None
        return self.runtime.radius.acct_port

    @property
    def tacacs_port(self) -> int:
        assert self.runtime.tacacs is not None
        return self.runtime.tacacs.port

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    async def events(self, action: str) -> list[AuditEvent]:
        await self.audit.flush()
        return [e for e in self.sink.events if e.action == action]


@asynccontextmanager
async def running_aaa(
    idp_url: str | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    clock: Clock = system_clock,
    sleeper: ClockSleeper | None = None,
) -> AsyncIterator[AAA]:
    config = load_config(data=aaa_config(idp_url, overrides))
    registry = CollectorRegistry()
    sink = ListSink()
    audit = AuditLog([sink], clock=clock)
    service = build_service(config, registry=registry, audit=audit, clock=clock, sleeper=sleeper)
    runtime = AAARuntime(config, service, clock=clock)
    await runtime.start()
    try:
        yield AAA(runtime, registry, sink, audit, clock, sleeper)
    finally:
        await runtime.aclose()


@pytest.fixture
def idp() -> Iterator[ServedIdP]:
    with running_idp() as served:
        yield served


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()
