"""Audit log: sinks (JSON log, SQL on SQLite and PostgreSQL), bounded queue, flush on close."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import orjson
import psycopg
import pytest
from prometheus_client import CollectorRegistry

from authgate.authn.base import Credential
from authgate.clock import ManualClock
from authgate.errors import AuthError, ErrorCode
from authgate.fingerprint import fingerprint
from authgate.observability.audit import (
    AuditedAuthenticator,
    AuditEvent,
    AuditLog,
    JsonLogSink,
    SqlAuditSink,
    auth_event,
    build_audit_log,
)
from authgate.principal import Principal, PrincipalKind
from authgate.service_tokens.store import TokenStore

pytestmark = pytest.mark.anyio
SECRET = "ag_svc_" + "S" * 49


class ListSink:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    async def write(self, events: Sequence[AuditEvent]) -> None:
        self.events.extend(events)


class BrokenSink:
    async def write(self, events: Sequence[AuditEvent]) -> None:
        raise OSError("disk full")


@pytest.fixture(scope="module")
def pg_database(pg_url: str) -> Iterator[str]:
    name = f"ag_audit_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TokenStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    token_store = TokenStore(url)
    await token_store.migrate()
    yield token_store
    await token_store.aclose()


async def test_sql_sink_writes_and_searches(store: TokenStore) -> None:
    clock = ManualClock()
    sink = SqlAuditSink(store.engine)
    audit = AuditLog([sink], clock=clock)
    marker = uuid.uuid4().hex[:8]
    for n in range(5):
        audit.record("authn", "failure" if n % 2 else "success", subject=f"{marker}-{n}",
                     code="auth.token_revoked" if n % 2 else None, detail={"n": n})  # fmt: skip
        clock.advance(1)
    await audit.aclose()
    rows = await sink.search(equals={"outcome": "failure"}, since=clock.time() - 10)
    mine = [e for _, e in rows if e.subject and e.subject.startswith(marker)]
    assert [e.subject for e in mine] == [f"{marker}-3", f"{marker}-1"]  # newest first
    assert mine[0].code == "auth.token_revoked"
    assert mine[0].detail == {"n": 3}
    window = await sink.search(since=clock.time() - 4, until=clock.time() - 2, newest_first=False)
    assert [e.subject for _, e in window if e.subject and e.subject.startswith(marker)] == [
        f"{marker}-1",
        f"{marker}-2",
    ]
    seqs = [seq for seq, _ in await sink.search(limit=3)]
    assert seqs == sorted(seqs, reverse=True)
    after = await sink.search(after_seq=seqs[-1], newest_first=False)
    assert [seq for seq, _ in after] == sorted(seqs[:-1])


async def test_json_sink_logs_and_appends_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.jsonl"
    audit = build_audit_log("json", json_path=path, clock=ManualClock())
    with caplog.at_level(logging.INFO, logger="authgate.audit"):
        audit.record("token.create", "success", subject="alice", token_id="ci")
        await audit.aclose()
    logged = orjson.loads(caplog.records[-1].getMessage())
    assert logged["action"] == "token.create"
    assert logged["ts"] == ManualClock().time()
    assert orjson.loads(path.read_text().splitlines()[0])["token_id"] == "ci"


async def test_full_queue_drops_and_counts_without_blocking() -> None:
    registry = CollectorRegistry()
    sink = ListSink()
    audit = AuditLog([sink], max_queue=3, registry=registry)
    for n in range(10):  # synchronous burst: the writer task cannot run in between
        audit.record("authn", "success", subject=str(n))
    assert audit.dropped == 7
    assert registry.get_sample_value("authgate_audit_dropped_events_total") == 7
    await audit.aclose()
    assert [e.subject for e in sink.events] == ["0", "1", "2"]
    audit.record("authn", "success")  # after close: counted, not raised
    assert audit.dropped == 8


async def test_a_failing_sink_never_reaches_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    good = ListSink()
    audit = AuditLog([BrokenSink(), good])
    audit.record("authn", "failure", code="auth.invalid_signature")
    with caplog.at_level(logging.WARNING, logger="authgate.audit"):
        await audit.flush()
    assert audit.sink_errors == 1
    assert "disk full" in caplog.text
    assert len(good.events) == 1  # the other sink still got it
    await audit.aclose()


def test_sql_sink_needs_an_engine() -> None:
    with pytest.raises(ValueError, match="engine"):
        build_audit_log("sql")
    with pytest.raises(ValueError, match="unknown audit sink"):
        build_audit_log("kafka")


def test_emit_without_a_running_loop_is_kept_for_close() -> None:
    sink = ListSink()
    audit = AuditLog([sink])
    audit.record("authn", "success")  # no event loop: queued, not lost, not raised
    assert audit.dropped == 0

    import asyncio

    asyncio.run(audit.aclose())
    assert len(sink.events) == 1


class Fixed:
    async def authenticate(self, credential: Credential) -> Principal | None:
        if credential.token == SECRET:
            return Principal(subject="svc", kind=PrincipalKind.SERVICE, token_id="svc",
                             credential="service_token")  # fmt: skip
        if credential.token.startswith("ag_"):
            raise AuthError(ErrorCode.TOKEN_REVOKED, "revoked", extra={"token_id": "old"})
        return None


async def test_audited_authenticator_records_outcomes_with_fingerprints() -> None:
    clock = ManualClock()
    sink = ListSink()
    audit = AuditLog([sink], clock=clock)
    auth = AuditedAuthenticator(Fixed(), audit)
    cred = Credential(
        SECRET, method="GET", url="https://api.example/v1/x?q=1", client_ip="192.0.2.4"
    )
    assert await auth.authenticate(cred) is not None
    with pytest.raises(AuthError):
        await auth.authenticate(Credential("ag_old_" + "x" * 49, client_ip="192.0.2.5"))
    assert await auth.authenticate(Credential("not-mine")) is None  # nothing to record
    await audit.aclose()
    ok, bad = sink.events
    assert (ok.action, ok.outcome, ok.subject, ok.token_id) == ("authn", "success", "svc", "svc")
    assert ok.route == "GET https://api.example/v1/x"
    assert ok.token_fingerprint == fingerprint(SECRET)
    assert ok.detail == {"credential": "service_token"}
    assert (bad.outcome, bad.code, bad.token_id) == ("failure", "auth.token_revoked", "old")
    assert SECRET not in repr(sink.events)


def test_auth_event_takes_explicit_route_and_request_id() -> None:
    event = auth_event(Credential("t", client_ip="::1"), ts=1.0, route="POST /authz",
                       request_id="req-1", error=AuthError(ErrorCode.MISSING_TOKEN, "none"))  # fmt: skip
    assert (event.route, event.request_id, event.code) == (
        "POST /authz",
        "req-1",
        "auth.missing_token",
    )
    assert event.to_dict()["client_ip"] == "::1"


async def test_json_sink_writes_to_the_given_logger(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.audit.custom")
    with caplog.at_level(logging.INFO, logger="test.audit.custom"):
        await JsonLogSink(logger=logger).write(
            [AuditEvent(ts=1.0, action="authn", outcome="success")]
        )
    assert '"action":"authn"' in caplog.text
