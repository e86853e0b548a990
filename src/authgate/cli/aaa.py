"""``authgate aaa``: the RADIUS (RFC 2865/2866) and TACACS+ (RFC 8907) servers, alone in a process.

``authgate aaa --config aaa.yaml`` binds what the file enables, prints the bound ports, writes
audit events as JSON lines (optionally to ``--audit-file``), exposes Prometheus metrics on
``--metrics-port`` when given, and shuts down cleanly (sockets closed, audit flushed) on
SIGINT/SIGTERM. With ``workers: N`` the parent binds every port once, forks N processes sharing
them (``SO_REUSEPORT``, see :mod:`authgate.aaa.workers`) and passes signals on; worker ``i``
serves metrics on ``--metrics-port`` + ``i``. ``authgate aaa hash-password`` makes a
``local_users`` hash without echoing.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated

import typer
from prometheus_client import CollectorRegistry, start_http_server

from authgate.aaa import AAARuntime, build_service, load_config
from authgate.aaa.backends.local import hash_password
from authgate.aaa.config import AAAConfig
from authgate.aaa.workers import WorkerSockets, bind_workers, run_workers
from authgate.errors import ConfigError
from authgate.observability.audit import build_audit_log

from .output import fail

__all__ = ["app"]

app = typer.Typer(help="Run the RADIUS and TACACS+ servers (network AAA against Okta).")


def _listening(config: AAAConfig, auth: int, acct: int, tacacs: int) -> None:
    if config.radius.enabled:
        typer.echo(f"radius listening on {config.radius.host} auth {auth} acct {acct}")
    if config.tacacs.enabled:
        typer.echo(f"tacacs+ listening on {config.tacacs.host} port {tacacs}")


def _run(config_path: Path, audit_file: Path | None, metrics_port: int | None) -> None:
    config = load_config(config_path)
    if config.workers == 1:
        asyncio.run(_serve(config, audit_file, metrics_port))
        return
    workers = bind_workers(config, config.workers)
    first = workers[0]
    auth, acct = (
        int(first.radius[k].getsockname()[1]) if first.radius else 0 for k in ("auth", "acct")
    )
    tacacs = int(first.tacacs.getsockname()[1]) if first.tacacs else 0
    _listening(config, auth, acct, tacacs)
    typer.echo(f"{config.workers} workers")

    def serve(sockets: WorkerSockets) -> None:
        # Each worker has its own registry; it serves /metrics on metrics_port + its index.
        port = None if metrics_port is None else metrics_port + sockets.index
        asyncio.run(_serve(config, audit_file, port, sockets))

    code = run_workers(workers, serve)
    typer.echo("aaa stopped")
    if code:
        raise typer.Exit(code)


async def _serve(
    config: AAAConfig,
    audit_file: Path | None,
    metrics_port: int | None,
    sockets: WorkerSockets | None = None,
) -> None:
    registry = CollectorRegistry()
    if metrics_port is not None:
        start_http_server(metrics_port, addr="127.0.0.1", registry=registry)
    audit = build_audit_log("json", json_path=audit_file, registry=registry)
    runtime = AAARuntime(config, build_service(config, registry=registry, audit=audit))
    await runtime.start(sockets)
    if sockets is None:
        radius, tacacs = runtime.radius, runtime.tacacs
        _listening(
            config,
            radius.auth_port if radius else 0,
            radius.acct_port if radius else 0,
            tacacs.port if tacacs else 0,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runtime.aclose()
        if sockets is None:
            typer.echo("aaa stopped")


@app.callback(invoke_without_command=True)
def aaa_command(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML or JSON file (see docs/aaa.md).")
    ] = None,
    audit_file: Annotated[
        Path | None, typer.Option("--audit-file", help="Also append audit JSON lines here.")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", help="Serve /metrics on 127.0.0.1:PORT.")
    ] = None,
) -> None:
    """Serve RADIUS and TACACS+ until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    if config is None:
        fail(ConfigError("--config", "give the AAA configuration file"))
    try:
        _run(config, audit_file, metrics_port)
    except ConfigError as exc:
        fail(exc)
    except OSError as exc:
        typer.echo(f"error: cannot bind: {exc.strerror}", err=True)
        raise typer.Exit(1) from exc


@app.command("hash-password")
def hash_password_command(
    scheme: Annotated[str, typer.Option("--scheme", help="scrypt or pbkdf2_sha256")] = "scrypt",
) -> None:
    """Read a password (no echo) and print its hash for ``local_users``."""
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        typer.echo(hash_password(password, scheme=scheme))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
