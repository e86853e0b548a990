"""``authgate tokens``: create, list, show, rotate and revoke service tokens; migrate the store.

Reads ``AUTHGATE_*`` settings (store URL or SQLite path, Redis for revocation fan-out, audit
sink). The embedded SQLite store is migrated on first use; a PostgreSQL store is migrated only
by ``authgate tokens migrate``, so a production schema never changes as a side effect. A new
secret is printed once and never again; every command audits as ``cli:<os user>``.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from authgate.clock import system_clock
from authgate.errors import AuthgateError, ConfigError
from authgate.observability.audit import build_audit_log
from authgate.service_tokens.admin import TokenAdmin
from authgate.service_tokens.format import generate_bootstrap_token
from authgate.service_tokens.revocation import RevocationFeed
from authgate.service_tokens.rotation import TokenStateError
from authgate.service_tokens.settings import TokenSettings, parse_duration
from authgate.service_tokens.store import (
    TokenExistsError,
    TokenNotFoundError,
    TokenRecord,
    TokenStore,
)

from .output import console, err_console, fail, print_json

__all__ = ["app"]

app = typer.Typer(help="Manage service tokens (ag_…).", no_args_is_help=True)
T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _duration(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def _run(action: Callable[[TokenAdmin], Awaitable[T]]) -> T:
    """Build store + audit + fan-out from settings, run ``action``, always clean up."""
    try:
        settings = TokenSettings.load()
    except ConfigError as exc:
        fail(exc)

    async def main() -> T:
        store = TokenStore.from_settings(settings)
        audit = build_audit_log(
            settings.audit_sink, engine=store.engine, json_path=settings.audit_json_path
        )
        feed = RevocationFeed(settings.redis_url)
        try:
            if store.url.startswith("sqlite"):
                await store.migrate()
            return await action(TokenAdmin(store, audit=audit, revocations=feed))
        finally:
            await audit.aclose()
            await feed.aclose()
            await store.aclose()

    try:
        return asyncio.run(main())
    except (TokenNotFoundError, TokenExistsError, TokenStateError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    except SQLAlchemyError as exc:
        err_console.print(
            f"[red]error:[/red] token store: {type(exc).__name__} — run `authgate tokens migrate`"
            " if the schema is missing"
        )
        raise typer.Exit(1) from None
    except AuthgateError as exc:
        fail(exc)


def _actor() -> str:
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli:unknown"


def _print_record(record: TokenRecord) -> None:
    now = system_clock.time()
    table = Table(show_header=False, box=None)
    for key, value in record.to_dict(now).items():
        if key == "secrets":
            value = ", ".join(
                f"#{s['generation']} {s['status']}"
                + (f" until {_when(s['valid_until'])}" if s["valid_until"] else "")
                for s in value
            )
        elif isinstance(value, list):
            value = " ".join(value) or "-"
        elif key.endswith("_at"):
            value = _when(value)
        table.add_row(f"[bold]{key}[/bold]", str(value if value not in (None, "") else "-"))
    console.print(table)


def _print_secret(token: str, record: TokenRecord, as_json: bool) -> None:
    if as_json:
        print_json({"token": token, "record": record.to_dict(system_clock.time())})
        return
    console.print(f"[green]token {record.id}[/green] — shown once, store it now:")
    console.print(token, soft_wrap=True)


@app.command()
def create(
    token_id: Annotated[str | None, typer.Option("--id", help="Token id (a-z 0-9 . -).")] = None,
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Repeatable.")] = None,
    workspace: Annotated[list[str] | None, typer.Option("--workspace", help="Repeatable.")] = None,
    expires_in: Annotated[str | None, typer.Option("--expires-in", help="e.g. 90d.")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    allow_cidr: Annotated[
        list[str] | None, typer.Option("--allow-cidr", help="Allowed source CIDR; repeatable.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a token; the secret is printed once."""
    seconds = _duration(expires_in, "--expires-in")
    token, record = _run(
        lambda admin: admin.create(
            actor=_actor(),
            token_id=token_id,
            description=description,
            scopes=scope or (),
            workspaces=workspace or (),
            expires_in=seconds,
            allowed_cidrs=allow_cidr or (),
        )
    )
    _print_secret(token, record, as_json)


@app.command("list")
def list_tokens(as_json: JsonOpt = False) -> None:
    """All tokens with their status."""
    records = _run(lambda admin: admin.list(actor=_actor()))
    now = system_clock.time()
    if as_json:
        print_json({"tokens": [r.to_dict(now) for r in records]})
        return
    table = Table("id", "status", "scopes", "workspaces", "expires", "last used", "created by")
    colours = {"active": "green", "revoked": "red", "expired": "yellow"}
    for r in records:
        status = str(r.status(now))
        table.add_row(
            r.id,
            f"[{colours.get(status, 'white')}]{status}[/]",
            " ".join(r.scopes) or "-",
            " ".join(r.workspaces) or "-",
            _when(r.expires_at),
            _when(r.last_used_at),
            r.created_by,
        )
    console.print(table)


@app.command()
def show(token_id: str, as_json: JsonOpt = False) -> None:
    """One token's metadata (never its secret)."""
    record = _run(lambda admin: admin.show(token_id, actor=_actor()))
    if as_json:
        print_json(record.to_dict(system_clock.time()))
    else:
        _print_record(record)


@app.command()
def rotate(
    token_id: str,
    overlap: Annotated[str, typer.Option("--overlap", help="Old secret stays valid.")] = "300",
    expires_in: Annotated[str | None, typer.Option("--expires-in")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue a new secret; the old one works until the overlap ends."""
    overlap_s = _duration(overlap, "--overlap") or 0.0
    expires_s = _duration(expires_in, "--expires-in")
    token, record = _run(
        lambda admin: admin.rotate(
            token_id, actor=_actor(), overlap=overlap_s, expires_in=expires_s
        )
    )
    _print_secret(token, record, as_json)


@app.command()
def revoke(
    token_id: str,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the record).")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke for good; running instances stop accepting it within a second."""
    record = _run(lambda admin: admin.revoke(token_id, actor=_actor(), reason=reason))
    if as_json:
        print_json(record.to_dict(system_clock.time()))
    else:
        console.print(f"[red]revoked[/red] {record.id}: {record.revoke_reason}")


@app.command()
def migrate() -> None:
    """Create or upgrade the token and audit tables."""

    async def run(admin: TokenAdmin) -> str:
        await admin.store.migrate()
        return admin.store.engine.url.render_as_string(hide_password=True)

    console.print(f"token store migrated: {_run(run)}")


@app.command("new-bootstrap")
def new_bootstrap() -> None:
    """Print a fresh value for AUTHGATE_BOOTSTRAP_TOKEN (nothing is stored)."""
    console.print(generate_bootstrap_token(), soft_wrap=True)
