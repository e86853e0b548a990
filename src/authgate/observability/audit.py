"""Audit trail: one event per authentication decision and per token administration action.

Why a queue: an audit write must never slow down or fail a request. ``AuditLog.emit`` only
puts the event on a bounded in-memory queue (dropping, counting and exporting a metric when
full); a background task writes batches to the sinks — a structured JSON log (default), the SQL
database of the token store, or both — and ``aclose()`` flushes what is left at shutdown.
Events carry a token *fingerprint* (``sha256(token)[:12]``), never the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from authgate.authn.base import Authenticator, Credential
from authgate.clock import Clock, system_clock
from authgate.errors import AuthError
from authgate.fingerprint import fingerprint
from authgate.principal import Principal
from authgate.service_tokens.models import audit_events

__all__ = [
    "AuditEvent",
    "AuditLog",
    "AuditSink",
    "AuditedAuthenticator",
    "JsonLogSink",
    "SqlAuditSink",
    "auth_event",
    "build_audit_log",
]

_log = logging.getLogger("authgate.audit")
_BATCH = 256


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audited decision. ``action`` is ``authn`` or ``token.<operation>``."""

    ts: float
    action: str
    outcome: str  # "success" | "failure"
    code: str | None = None
    subject: str | None = None
    token_id: str | None = None
    token_fingerprint: str | None = None
    client_ip: str | None = None
    route: str | None = None
    request_id: str | None = None
    detail: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["detail"] = dict(self.detail) if self.detail else None
        return data


def auth_event(
    credential: Credential,
    *,
    ts: float,
    principal: Principal | None = None,
    error: AuthError | None = None,
    route: str | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """The ``authn`` event for one authentication outcome (success if ``principal`` is set)."""
    if route is None and credential.method and credential.url:
        route = f"{credential.method} {credential.url.split('?', 1)[0]}"
    extra = error.extra if error else {}
    return AuditEvent(
        ts=ts,
        action="authn",
        outcome="success" if principal is not None else "failure",
        code=str(error.code) if error else None,
        subject=principal.subject if principal else extra.get("subject"),
        token_id=principal.token_id if principal else extra.get("token_id"),
        token_fingerprint=fingerprint(credential.token) if credential.token else None,
        client_ip=credential.client_ip,
        route=route,
        request_id=request_id,
        detail={"credential": principal.credential} if principal else None,
    )


class AuditSink(Protocol):
    """Where batches of events go. May raise; the AuditLog counts and logs sink failures."""

    async def write(self, events: Sequence[AuditEvent]) -> None: ...


class JsonLogSink:
    """One JSON object per line on the ``authgate.audit`` logger, and optionally a file."""

    def __init__(self, path: Path | None = None, logger: logging.Logger = _log) -> None:
        self.path = path
        self.logger = logger

    async def write(self, events: Sequence[AuditEvent]) -> None:
        lines = [orjson.dumps(e.to_dict()).decode() for e in events]
        for line in lines:
            self.logger.info(line)
        if self.path is not None:
            await asyncio.to_thread(self._append, self.path, lines)

    @staticmethod
    def _append(path: Path, lines: list[str]) -> None:
        with path.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")


class SqlAuditSink:
    """Rows in ``authgate_audit_events`` on the token store's engine; also answers queries."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def write(self, events: Sequence[AuditEvent]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert(audit_events), [e.to_dict() for e in events])

    async def search(
        self,
        *,
        after_seq: int | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        newest_first: bool = True,
        equals: Mapping[str, str | None] | None = None,
    ) -> list[tuple[int, AuditEvent]]:
        """Events matching every given filter; ``equals`` maps column names to values."""
        query = select(audit_events)
        for name, value in (equals or {}).items():
            if value is not None:
                query = query.where(audit_events.c[name] == value)
        if after_seq is not None:
            query = query.where(audit_events.c.seq > after_seq)
        if since is not None:
            query = query.where(audit_events.c.ts >= since)
        if until is not None:
            query = query.where(audit_events.c.ts < until)
        order = audit_events.c.seq.desc() if newest_first else audit_events.c.seq.asc()
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(order).limit(limit))).all()
        return [
            (m["seq"], AuditEvent(**{k: v for k, v in m.items() if k != "seq"}))
            for m in (row._mapping for row in rows)
        ]


class AuditLog:
    """Bounded queue in front of the sinks: ``emit`` never blocks and never raises."""

    def __init__(
        self,
        sinks: Sequence[AuditSink],
        *,
        clock: Clock = system_clock,
        max_queue: int = 10_000,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.sinks = tuple(sinks)
        self.clock = clock
        self.dropped = 0
        self.sink_errors = 0
        self._queue: asyncio.Queue[AuditEvent] = asyncio.Queue(maxsize=max_queue)
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._dropped_metric = (
            Counter(
                "authgate_audit_dropped_events",
                "Audit events dropped because the audit queue was full",
                registry=registry,
            )
            if registry is not None
            else None
        )

    def emit(self, event: AuditEvent) -> None:
        """Queue ``event``; call from the event loop thread. Full or closed → counted drop."""
        if self._closed:
            self._drop()
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._drop()
            return
        if self._task is None:
            with contextlib.suppress(RuntimeError):  # no running loop: flushed by aclose()
                self._task = asyncio.get_running_loop().create_task(self._drain())

    def record(self, action: str, outcome: str, **fields: Any) -> None:
        """Build and emit an event stamped with the injected clock."""
        self.emit(AuditEvent(ts=self.clock.time(), action=action, outcome=outcome, **fields))

    def _drop(self) -> None:
        self.dropped += 1
        if self._dropped_metric is not None:
            self._dropped_metric.inc()

    async def _write(self, batch: list[AuditEvent]) -> None:
        for sink in self.sinks:
            try:
                await sink.write(batch)
            except Exception as exc:  # noqa: BLE001 - a sink failure must never reach a request
                self.sink_errors += 1
                _log.warning(
                    "audit sink %s failed (%d events): %s", type(sink).__name__, len(batch), exc
                )

    async def _drain(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < _BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def flush(self) -> None:
        """Wait until everything emitted so far has reached the sinks."""
        if self._task is None and not self._queue.empty():
            self._task = asyncio.get_running_loop().create_task(self._drain())
        await self._queue.join()

    async def aclose(self) -> None:
        """Flush, then stop the writer; later ``emit`` calls are counted as drops."""
        await self.flush()
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class AuditedAuthenticator:
    """Wrap an authenticator (or chain) so every success and failure becomes an ``authn`` event."""

    def __init__(self, inner: Authenticator, audit: AuditLog) -> None:
        self.inner = inner
        self.audit = audit

    async def authenticate(self, credential: Credential) -> Principal | None:
        try:
            principal = await self.inner.authenticate(credential)
        except AuthError as error:
            self.audit.emit(auth_event(credential, ts=self.audit.clock.time(), error=error))
            raise
        if principal is not None:
            self.audit.emit(auth_event(credential, ts=self.audit.clock.time(), principal=principal))
        return principal


def build_audit_log(
    sink: str,
    *,
    engine: AsyncEngine | None = None,
    json_path: Path | None = None,
    clock: Clock = system_clock,
    max_queue: int = 10_000,
    registry: CollectorRegistry | None = None,
) -> AuditLog:
    """An AuditLog for ``AUTHGATE_AUDIT_SINK`` = ``json`` | ``sql`` | ``both``."""
    sinks: list[AuditSink] = []
    if sink in ("json", "both"):
        sinks.append(JsonLogSink(json_path))
    if sink in ("sql", "both"):
        if engine is None:
            raise ValueError("the sql audit sink needs the token store's engine")
        sinks.append(SqlAuditSink(engine))
    if not sinks:
        raise ValueError(f"unknown audit sink {sink!r}; use json, sql or both")
    return AuditLog(sinks, clock=clock, max_queue=max_queue, registry=registry)
