"""Dev IdP vs npm ``oidc-provider``: client-credentials (RFC 6749 §4.4) tokens/s on one core.

Both servers do the same grant in the same run (RFC 6749 §4.4 with ``client_secret_basic``, an
RS256 JWT access token for one audience — RFC 8707 resource indicators on oidc-provider), each
pinned to the same core (``--server-cpu``, default 0) while ``wrk`` drives it with keep-alive
connections from another core (``--client-cpu``, default 1). Rounds alternate the servers so
drift on a shared machine hits both; each cell keeps the best round, because noise only ever
adds time. Besides wall-clock rate and latency it reports the server's own CPU time per token
(``/proc/<pid>/stat``), which other load on the machine barely disturbs.

    python bench/idp.py                         # 3 rounds × {1, 32} connections × 10 s
    python bench/idp.py --seconds 5 --connections 1,8,64 --markdown
    python bench/idp.py --group-nice -10        # (root) outrank other load on a shared machine
    python bench/idp.py --profile               # cProfile of the authgate server under load

Needs ``wrk`` (Debian package) and node ≥ 20 with ``tests/interop/node`` installed
(``scripts/install``); node is taken from PATH, else ``.tools/node/bin``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tests" / "interop" / "node"
CLIENT_ID = "0oabenchclient0000001"
CLIENT_SECRET = "bench-secret-DEV-ONLY-0123456789abcdef"
AUDIENCE = "api://default"
SCOPE = "api:read"
BODY = "grant_type=client_credentials&scope=api%3Aread"

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "{authorization}"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Server:
    """A running server process under test and where its token endpoint is."""

    name: str
    token_endpoint: str
    jwks_url: str
    process: subprocess.Popen[str]

    def cpu_seconds(self) -> float:
        """User + system CPU of the whole process (every thread) so far (proc(5) fields 14-15)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass(frozen=True)
class Row:
    """One load run: throughput, latency and the server's CPU per token."""

    server: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float


@dataclass(frozen=True)
class Placement:
    """Where a process runs: one CPU, in its own session, optionally with a boosted group nice.

    A session of its own is its own scheduling group (Linux autogroup), so on a shared machine
    each server gets the CPU share of one group however many threads it runs: without it, node
    (main thread + libuv signing threads) outweighs a one-thread Python server on a busy core.
    """

    cpu: int
    group_nice: int | None = None

    def apply(self) -> None:
        # Runs in the child before exec, so every thread it later starts (libuv, V8) inherits it.
        os.setsid()
        os.sched_setaffinity(0, {self.cpu})
        if self.group_nice is not None:
            Path("/proc/self/autogroup").write_text(str(self.group_nice))


def _first_line(process: subprocess.Popen[str], what: str) -> dict[str, Any]:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"{what} exited before listening (exit code {process.wait()})")
    found: dict[str, Any] = json.loads(line)
    return found


# -- the servers ---------------------------------------------------------------------------------
def serve_authgate(profile_to: str | None) -> None:
    """Child mode: the dev IdP as ``authgate idp`` serves it, with one bench client and server."""
    import cProfile

    from authgate.idp.app import bind, make_server
    from authgate.idp.config import IdPConfig
    from authgate.idp.state import IdP

    config = IdPConfig.from_mapping(
        {
            "servers": [
                {"id": "default", "audiences": [AUDIENCE], "scopes": [{"name": SCOPE}]},
            ],
            "apps": [{"name": "bench", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}],
            # Limits stay on (their bookkeeping is part of every answer) but are never reached.
            "rate_limits": [
                {
                    "family": "token",
                    "path_prefix": "/oauth2",
                    "per_minute": 10**9,
                    "concurrency": 10**6,
                }
            ],
        }
    )
    idp = IdP(config)
    sock = bind("127.0.0.1", 0)
    server = make_server(idp, sock)
    base = idp.server("default").base
    line = {"token_endpoint": f"{base}/v1/token", "jwks_url": f"{base}/v1/keys"}
    print(json.dumps(line), flush=True)
    if profile_to is None:
        server.run(sockets=[sock])
        return
    # uvicorn re-raises SIGTERM once it has stopped; a no-op handler lets the stats be written.
    signal.signal(signal.SIGTERM, lambda *_: None)
    profiler = cProfile.Profile(time.process_time)  # CPU, not wall: preemption is not cost
    profiler.runcall(server.run, sockets=[sock])  # uvicorn returns on SIGTERM
    profiler.dump_stats(profile_to)


def start_authgate(place: Placement, profile_to: str | None = None) -> Server:
    command = [sys.executable, __file__, "--serve-authgate"]
    if profile_to:
        command += ["--profile-to", profile_to]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, preexec_fn=place.apply)
    found = _first_line(process, "authgate idp")
    return Server("authgate idp", found["token_endpoint"], found["jwks_url"], process)


def find_node() -> str:
    for candidate in (shutil.which("node"), str(ROOT / ".tools" / "node" / "bin" / "node")):
        if candidate and Path(candidate).exists():
            version = subprocess.run([candidate, "--version"], capture_output=True, text=True)
            if int(version.stdout.strip().lstrip("v").split(".")[0]) >= 20:
                return candidate
    raise SystemExit("node >= 20 not found (PATH or .tools/node/bin): run scripts/install")


def start_oidc_provider(place: Placement) -> Server:
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        raise SystemExit(f"oidc-provider is not installed in {NODE_DIR}: run scripts/install")
    process = subprocess.Popen(
        [find_node(), "oidc_provider_bench.mjs"],
        cwd=NODE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # its dev-adapter and runtime warnings
        text=True,
        preexec_fn=place.apply,
    )
    assert process.stdin is not None
    peer = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "audience": AUDIENCE}
    process.stdin.write(json.dumps({**peer, "scope": SCOPE}))
    process.stdin.close()
    found = _first_line(process, "oidc-provider")
    return Server("oidc-provider", found["token_endpoint"], found["url"] + "/jwks", process)


def check_same_grant(server: Server) -> None:
    """Both servers must really issue the token being compared: RS256, right aud and scope."""
    import httpx
    import jwt

    response = httpx.post(
        server.token_endpoint,
        content=BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    response.raise_for_status()
    token = response.json()["access_token"]
    header = jwt.get_unverified_header(token)
    keys = httpx.get(server.jwks_url).json()["keys"]
    key = jwt.PyJWK(next(k for k in keys if k["kid"] == header["kid"]))
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=AUDIENCE)
    granted = claims.get("scp") or claims.get("scope", "").split()
    if header["alg"] != "RS256" or SCOPE not in granted or key.key.key_size != 2048:
        raise SystemExit(f"{server.name}: unexpected token {header} {claims}")


# -- load ----------------------------------------------------------------------------------------
def wrk(
    server: Server, connections: int, seconds: int, place: Placement
) -> tuple[dict[str, Any], float]:
    """One ``wrk`` run against ``server``: its summary and the server CPU seconds it took."""
    authorization = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT.format(body=BODY, authorization=authorization))
        script.flush()
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
        before = server.cpu_seconds()
        done = subprocess.run(
            [*command, "-s", script.name, server.token_endpoint],
            capture_output=True,
            text=True,
            check=True,
            preexec_fn=place.apply,
        )
        used = server.cpu_seconds() - before
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if summary["non2xx"] or summary["socket_errors"]:
        raise SystemExit(f"{server.name}: failed requests during the run: {summary}")
    return summary, used


def measure(server: Server, connections: int, seconds: int, place: Placement) -> Row:
    summary, cpu_used = wrk(server, connections, seconds, place)
    requests = summary["requests"]
    return Row(
        server.name,
        connections,
        requests / (summary["duration_us"] / 1e6),
        summary["p50_us"] / 1000,
        summary["p99_us"] / 1000,
        cpu_used / requests * 1e6,
    )


def best(rows: list[Row]) -> Row:
    """Per cell: the best rate and latency seen, and the least CPU per token, over the rounds."""
    return Row(
        rows[0].server,
        rows[0].connections,
        max(r.rps for r in rows),
        min(r.p50_ms for r in rows),
        min(r.p99_ms for r in rows),
        min(r.cpu_us for r in rows),
    )


def render(rows: list[Row], *, markdown: bool) -> str:
    """The table; ratios are authgate ÷ oidc-provider at the same connection count (>1 = faster)."""
    head = ("server", "conns", "tokens/s", "p50 ms", "p99 ms", "CPU µs/token", "tokens/CPU-s",
            "rate ratio", "CPU ratio")  # fmt: skip
    peers = {r.connections: r for r in rows if r.server == "oidc-provider"}
    cells = []
    for r in rows:
        peer = peers.get(r.connections)
        mine = peer is not None and r is not peer
        cells.append(
            (
                r.server,
                str(r.connections),
                f"{r.rps:,.0f}",
                f"{r.p50_ms:.2f}",
                f"{r.p99_ms:.2f}",
                f"{r.cpu_us:,.0f}",
                f"{1e6 / r.cpu_us:,.0f}",
                f"{r.rps / peer.rps:.2f}×" if mine and peer else "",
                f"{peer.cpu_us / r.cpu_us:.2f}×" if mine and peer else "",
            )
        )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells])
    widths = [max(len(row[i]) for row in [head, *cells]) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in [head, *cells]
    )


# -- modes ---------------------------------------------------------------------------------------
def compare(args: argparse.Namespace, server_at: Placement, client_at: Placement) -> None:
    connections = [int(c) for c in args.connections.split(",")]
    servers = [start_authgate(server_at), start_oidc_provider(server_at)]
    results: dict[tuple[str, int], list[Row]] = {}
    try:
        for server in servers:
            check_same_grant(server)
            wrk(server, max(connections), args.warmup, client_at)  # JIT, lazy keys, pools
        for round_no in range(args.rounds):
            # Alternate who goes first, so a slow patch of the machine does not favour one side.
            order = servers if round_no % 2 == 0 else servers[::-1]
            for conns in connections:
                for server in order:
                    row = measure(server, conns, args.seconds, client_at)
                    results.setdefault((server.name, conns), []).append(row)
                    print(f"  round {round_no + 1}: {row}", file=sys.stderr)
    finally:
        for server in servers:
            server.stop()
    rows = [best(results[(s.name, c)]) for c in connections for s in servers]
    print(
        f"client_credentials + client_secret_basic → RS256 JWT access token. Servers on CPU "
        f"{server_at.cpu}, wrk on CPU {client_at.cpu}, group nice {server_at.group_nice or 0}; "
        f"best of {args.rounds} rounds × {args.seconds} s. tokens/CPU-s = one dedicated core's "
        "capacity (1e6 ÷ server CPU µs per token); ratios are authgate ÷ oidc-provider."
    )
    print(render(rows, markdown=args.markdown))


def profile(args: argparse.Namespace, server_at: Placement, client_at: Placement) -> None:
    import pstats

    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "idp.prof")
        server = start_authgate(server_at, profile_to=out)
        try:
            check_same_grant(server)
            conns = max(int(c) for c in args.connections.split(","))
            row = measure(server, conns, args.seconds, client_at)
        finally:
            server.stop()
        print(f"under cProfile (CPU-time timer, several times slower than real): {row}")
        pstats.Stats(out).sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per measured run")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured run per server")
    parser.add_argument("--connections", default="1,32", help="comma-separated wrk -c values")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument(
        "--group-nice",
        type=int,
        help="autogroup nice of each server and wrk, e.g. -10 (root): outrank background load",
    )
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the authgate server")
    parser.add_argument("--serve-authgate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_authgate:
        serve_authgate(args.profile_to)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk (or run scripts/install)")
    usable = os.sched_getaffinity(0)
    if args.server_cpu == args.client_cpu or not {args.server_cpu, args.client_cpu} <= usable:
        raise SystemExit(f"--server-cpu/--client-cpu: two different CPUs of {sorted(usable)}")
    server_at = Placement(args.server_cpu, args.group_nice)
    client_at = Placement(args.client_cpu, args.group_nice)
    # SIGTERM (e.g. `timeout`) must still run the finally blocks that stop the servers, which
    # live in sessions of their own and would otherwise outlive this process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    (profile if args.profile else compare)(args, server_at, client_at)


if __name__ == "__main__":
    main()
