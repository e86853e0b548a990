"""``authgate audit``: read the audit trail (``tail``, ``search``) from the SQL sink or a JSON file.

The SQL sink (``AUTHGATE_AUDIT_SINK=sql|both``) lives in the token store's database, so the
same ``AUTHGATE_TOKEN_STORE_URL`` finds it; ``--file`` reads a JSON-lines file written by the
JSON sink (``AUTHGATE_AUDIT_JSON_PATH``) instead. Times accept ISO 8601, epoch seconds, or a
duration meaning "that long ago" (``15m``, ``2h``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from authgate.clock import system_clock
from authgate.errors import ConfigError
from authgate.observability.audit import AuditEvent, SqlAuditSink
from authgate.service_tokens.settings import TokenSettings, parse_duration, parse_timestamp
from authgate.service_tokens.store import TokenStore

from .output import console, err_console, fail, print_json

__all__ = ["app"]

app = typer.Typer(help="Read the audit trail.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]
FileOpt = Annotated[Path | None, typer.Option("--file", help="Read a JSON-lines audit file.")]


def _moment(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        return system_clock.time() - parse_duration(text)
    except ValueError:
        pass
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def _from_file(path: Path) -> list[AuditEvent]:
    events = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise typer.BadParameter(str(exc), param_hint="--file") from None
    for line in lines:
        try:
            data = orjson.loads(line)
            events.append(AuditEvent(**data))
        except (orjson.JSONDecodeError, TypeError):
            continue  # a torn or foreign line must not hide the rest of the trail
    return events


def _matches(
    event: AuditEvent, filters: dict[str, str | None], since: float | None, until: float | None
) -> bool:
    if since is not None and event.ts < since:
        return False
    if until is not None and event.ts >= until:
        return False
    return all(v is None or getattr(event, k) == v for k, v in filters.items())


def _query(
    file: Path | None,
    filters: dict[str, str | None],
    since: float | None,
    until: float | None,
    limit: int,
) -> list[AuditEvent]:
    """Newest ``limit`` matching events, oldest first."""
    if file is not None:
        hits = [e for e in _from_file(file) if _matches(e, filters, since, until)]
        return hits[-limit:]
    try:
        settings = TokenSettings.load()
    except ConfigError as exc:
        fail(exc)

    async def run() -> list[AuditEvent]:
        store = TokenStore.from_settings(settings)
        try:
            rows = await SqlAuditSink(store.engine).search(
                since=since, until=until, limit=limit, equals=filters
            )
        finally:
            await store.aclose()
        return [event for _, event in reversed(rows)]

    try:
        return asyncio.run(run())
    except SQLAlchemyError as exc:
        err_console.print(
            f"[red]error:[/red] audit database: {type(exc).__name__} — is AUTHGATE_AUDIT_SINK "
            "sql or both, and has `authgate tokens migrate` run?"
        )
        raise typer.Exit(1) from None


def _show(events: Iterable[AuditEvent], as_json: bool) -> None:
    events = list(events)
    if as_json:
        for event in events:
            print_json(event.to_dict())
        return
    table = Table("time", "action", "outcome", "code", "subject", "token", "client", "route")
    for e in events:
        when = datetime.fromtimestamp(e.ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%fZ")[:-4] + "Z"
        colour = "green" if e.outcome == "success" else "red"
        table.add_row(
            when,
            e.action,
            f"[{colour}]{e.outcome}[/]",
            e.code or "-",
            e.subject or "-",
            e.token_id or e.token_fingerprint or "-",
            e.client_ip or "-",
            e.route or "-",
        )
    console.print(table)


@app.command()
def tail(
    lines: Annotated[int, typer.Option("-n", "--lines", min=1, max=10_000)] = 20,
    file: FileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The most recent events, oldest first."""
    _show(_query(file, {}, None, None, lines), as_json)


@app.command()
def search(
    action: Annotated[str | None, typer.Option(help="authn, token.create, …")] = None,
    outcome: Annotated[str | None, typer.Option(help="success or failure")] = None,
    code: Annotated[str | None, typer.Option(help="e.g. auth.token_revoked")] = None,
    subject: Annotated[str | None, typer.Option()] = None,
    token_id: Annotated[str | None, typer.Option("--token-id")] = None,
    client_ip: Annotated[str | None, typer.Option("--client-ip")] = None,
    request_id: Annotated[str | None, typer.Option("--request-id")] = None,
    since: Annotated[str | None, typer.Option(help="ISO 8601, epoch, or e.g. 2h ago")] = None,
    until: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    file: FileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Events matching every given filter."""
    filters = {
        "action": action,
        "outcome": outcome,
        "code": code,
        "subject": subject,
        "token_id": token_id,
        "client_ip": client_ip,
        "request_id": request_id,
    }
    _show(
        _query(file, filters, _moment(since, "--since"), _moment(until, "--until"), limit),
        as_json,
    )
