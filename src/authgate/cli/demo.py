"""``authgate demo``: the README's first command — IdP, sample API and the gateway, on loopback.

Starts the dev IdP (Okta-compatible, offline), the sample upstream API and the gateway in front
of it (plus a second gateway that exchanges the caller's token for the upstream, RFC 8693),
prints copy-paste ``curl`` lines for every behaviour worth seeing, the admin dashboard URL and a
DEV-ONLY admin token, then serves until Ctrl-C (graceful stop). ``--once`` runs the walk-through
in-process, prints each result, and exits non-zero if any step did not answer as expected.
"""

from __future__ import annotations

import shlex
import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer

from authgate.demo.stack import DemoStack
from authgate.demo.walkthrough import Walkthrough, summary

__all__ = ["demo_command"]


def _header(stack: DemoStack) -> list[str]:
    return [
        "# authgate demo — DEV-ONLY secrets, loopback only. Paste the lines below into a shell.",
        f"#   dev IdP       {stack.idp_url}   issuer {stack.issuer}",
        f"#   upstream API  {stack.upstream_url}",
        f"#   gateway       {stack.gateway_url}   (reverse proxy → upstream)",
        f"#   exchange hop  {stack.exchange_url}   (gateway exchanging the caller's token)",
        f"#   dashboard     {stack.gateway_url}/__authgate/   (log in with $BOOTSTRAP)",
        f"BOOTSTRAP={shlex.quote(stack.bootstrap_token)}   # DEV-ONLY admin token",
    ]


def demo_command(
    port: Annotated[
        int,
        typer.Option(help="First of four ports (IdP, API, gateway, exchange); busy/0 → free."),
    ] = 9000,
    once: Annotated[
        bool, typer.Option(help="Run the walk-through in-process, print results, exit.")
    ] = False,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Where the demo keeps its token store and keys (default: a temp dir)."),
    ] = None,
) -> None:
    """Start the dev IdP, a sample API and the gateway; print curl lines; Ctrl-C stops all."""
    with tempfile.TemporaryDirectory(prefix="authgate-demo-") as tmp:
        stack = DemoStack(workdir or Path(tmp), base_port=port)
        failed = 0
        try:
            stack.start()
            for line in _header(stack):
                typer.echo(line)
            walk = Walkthrough(stack, {"BOOTSTRAP": stack.bootstrap_token})
            try:
                for number, step in enumerate(walk.steps(), 1):
                    expect = f" (expect {step.expect})" if step.expect else ""
                    typer.echo(f"\n# {number}. {step.title}{expect}")
                    typer.echo(step.command)
                    if once:
                        status, body = step.run()
                        ok = status == step.expect or (step.expect is None and status < 300)
                        failed += not ok
                        mark = "ok" if ok else "UNEXPECTED"
                        typer.echo(f"#   → {status} {summary(body)}  [{mark}]")
            finally:
                walk.close()
            if not once:
                typer.echo("\n# serving — Ctrl-C to stop")
                threading.Event().wait()
        except KeyboardInterrupt:
            typer.echo("\n# stopping (in-flight requests finish first)")
        finally:
            stack.stop()
        if failed:
            typer.echo(f"# {failed} step(s) did not answer as expected", err=True)
            raise typer.Exit(1)
