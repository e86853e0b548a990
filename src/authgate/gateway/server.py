"""Run the gateway under uvicorn: graceful drain on SIGTERM/SIGINT, policy reload on SIGHUP.

Why uvicorn's own shutdown: on SIGTERM it stops accepting, lets in-flight requests (and
WebSocket sessions) finish for up to ``shutdown_timeout`` seconds, then runs the lifespan
shutdown that closes pools, flushes the audit queue and stops the watchers. SIGHUP is handled
by the policy watcher installed at startup (uvicorn leaves SIGHUP alone). With several workers
each process builds its own components from the same configuration; shared state (limiter,
revocations, DPoP replay, exchanged tokens) goes through Redis/PostgreSQL.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import math
import os
import threading
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from authgate.gateway.app import create_app
from authgate.gateway.builder import build_components
from authgate.gateway.settings import GatewaySettings, load_gateway_settings
from authgate.service_tokens.settings import TokenSettings
from authgate.settings import load_settings

__all__ = ["app_from_environment", "build_app", "run"]

_CONFIG_ENV = "AUTHGATE_CONFIG"


def build_app(config_file: str | Path | None = None, **overrides: object) -> ASGIApp:
    """The gateway app from the config file and ``AUTHGATE_*`` environment."""
    gateway = load_gateway_settings(config_file, **overrides)
    core = load_settings(config_file)
    tokens = TokenSettings.load()
    return create_app(build_components(gateway, core, tokens))


def app_from_environment() -> ASGIApp:
    """uvicorn factory for worker processes (``AUTHGATE_CONFIG`` names the config file)."""
    return build_app(os.environ.get(_CONFIG_ENV) or None)


def _config(app: ASGIApp | str, settings: GatewaySettings, **extra: object) -> uvicorn.Config:
    host, port = settings.host_port()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        access_log=False,  # our access log middleware writes the structured line
        log_config=None,
        proxy_headers=False,  # client IPs are resolved by our trusted-proxy rules only
        server_header=False,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_timeout),
        **extra,  # type: ignore[arg-type]
    )


def _buffer_access_log(capacity: int = 512, interval: float = 0.5) -> None:
    """Access lines go out in batches: one write per ``capacity`` lines or ``interval`` s.

    A write per request costs more than the rest of an ``/authz`` decision; batching keeps the
    log complete (errors flush at once, and so does shutdown) while taking it off the hot path.
    """
    target = logging.StreamHandler()
    target.setFormatter(logging.Formatter("%(message)s"))
    buffered = logging.handlers.MemoryHandler(capacity, logging.ERROR, target)
    access = logging.getLogger("authgate.access")
    access.addHandler(buffered)
    access.propagate = False
    stop = threading.Event()

    def flush_periodically() -> None:
        while not stop.wait(interval):
            buffered.flush()

    threading.Thread(target=flush_periodically, name="access-log-flush", daemon=True).start()

    def final_flush() -> None:
        stop.set()
        buffered.flush()

    atexit.register(final_flush)


def run(config_file: str | Path | None = None, **overrides: object) -> None:
    """Serve until SIGTERM/SIGINT; blocks. Raises ConfigError before binding on bad settings."""
    settings = load_gateway_settings(config_file, **overrides)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # Our lines carry their own context; skipping thread/process look-ups per LogRecord saves
    # several microseconds per access-log line on the hot path.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    _buffer_access_log()
    if settings.workers > 1:
        if config_file is not None:
            os.environ[_CONFIG_ENV] = str(config_file)
        build_app(config_file, **overrides)  # fail fast in the parent on a bad configuration
        target = "authgate.gateway.server:app_from_environment"
        config = _config(target, settings, factory=True, workers=settings.workers)
        uvicorn.Server(config).run()
        return
    app = build_app(config_file, **overrides)
    uvicorn.Server(_config(app, settings)).run()
