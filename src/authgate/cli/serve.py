"""``authgate serve``: run the gateway (reverse proxy + forward auth) from a config file.

Settings come from ``--config`` (issuers at the top level, the gateway in ``[gateway]``) and the
``AUTHGATE_*`` / ``AUTHGATE_GATEWAY_*`` environment; flags override both. A bad setting or an
invalid policy file stops the command before it binds a port, with the setting (or the policy
line) named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from authgate.errors import AuthgateError

from .output import fail

__all__ = ["serve_command"]


def serve_command(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file.")] = None,
    listen: Annotated[str | None, typer.Option(help="host:port (default 127.0.0.1:8080).")] = None,
    upstream: Annotated[
        str | None, typer.Option(help="Upstream base URL for the reverse proxy.")
    ] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Route policy file.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Serve the gateway until SIGTERM/Ctrl-C (graceful drain); SIGHUP reloads the policy."""
    from authgate.gateway.server import run  # uvicorn and the app only when serving

    try:
        run(config, listen=listen, upstream=upstream, policy_file=policy, workers=workers)
    except AuthgateError as error:
        fail(error)
