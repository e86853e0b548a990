"""RADIUS and TACACS+ throughput of ``authgate aaa`` beside FreeRADIUS answering from a users file.

Usage: ``python bench/aaa.py [--seconds S] [--window W] [--workers N] [--rows ROWS] [--json]``.
Rows (issue #8; ``--rows freeradius,warm,cold,tacacs`` picks some):

* FreeRADIUS 3.2 (``authorize {files pap}``, local users file) — the reference;
* authgate RADIUS, warm auth cache (Okta backend = the dev IdP, answered from the cache);
* authgate RADIUS, cold (auth cache disabled: every request goes to the dev IdP's authn API;
  groups still come from the group cache, as in production);
* authgate TACACS+ PAP, warm cache, single-connect connections.

Every server runs in its own process and the load generator in another, so nobody shares a GIL
with the thing it measures. The generator keeps ``--window`` requests in flight per socket and
counts only verified Access-Accepts. Target: warm accept rate ≥ FreeRADIUS / 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from authgate.aaa.radius import packet as rp
from authgate.aaa.tacacs import packet as tp

SECRET = b"bench-secret-0123"
TAC_KEY = b"bench-tacacs-key"
USER, PASSWORD = "bob", "Bob-DEV-only-1"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- servers, each in its own process ------------------------------------------------------------
def _idp_process(conn: Any) -> None:
    import copy

    from authgate.idp.app import bind, make_server
    from authgate.idp.config import IdPConfig
    from authgate.idp.demo_config import DEMO
    from authgate.idp.state import IdP

    raw = copy.deepcopy(DEMO)
    for limit in raw["rate_limits"]:  # the bench measures us, not Okta's per-minute budget
        limit["per_minute"], limit["concurrency"] = 10_000_000, 10_000
    idp = IdP(IdPConfig.from_mapping(raw, source="bench"))
    sock = bind("127.0.0.1", 0)
    server = make_server(idp, sock)
    conn.send(idp.base_url)
    server.run(sockets=[sock])


def _aaa_process(conn: Any, idp_url: str, cache: bool, workers: int) -> None:
    from prometheus_client import CollectorRegistry

    from authgate.aaa import AAARuntime, build_service, load_config

    client = {"cidr": "127.0.0.0/8", "secret": SECRET.decode()}
    config = load_config(
        data={
            "radius": {"auth_port": 0, "acct_port": 0, "clients": [client]},
            "tacacs": {"port": 0, "clients": [{"cidr": "127.0.0.0/8", "secret": TAC_KEY.decode()}]},
            "backends": ["okta"],
            "okta": {
                "org_url": idp_url,
                "api_token": "dev-ssws-token",
                "api_token_env": None,
                "allow_insecure_http": True,
                "login_suffix": "@example.com",
            },
            "cache": {"enabled": cache, "key": secrets.token_hex(16), "key_env": None},
            **({"workers": workers} if workers > 1 else {}),
        }
    )

    async def main(sockets: Any = None) -> None:
        runtime = AAARuntime(config, build_service(config, registry=CollectorRegistry()))
        await runtime.start(sockets)
        assert runtime.radius is not None
        assert runtime.tacacs is not None
        if sockets is None:
            conn.send((runtime.radius.auth_port, runtime.tacacs.port))
        await asyncio.Event().wait()

    if workers == 1:
        asyncio.run(main())
        return
    from authgate.aaa.workers import bind_workers, run_workers

    shares = bind_workers(config, workers)
    tacacs = shares[0].tacacs
    assert tacacs is not None
    conn.send((shares[0].radius["auth"].getsockname()[1], tacacs.getsockname()[1]))
    run_workers(shares, lambda sockets: asyncio.run(main(sockets)))


def start_freeradius(tmp: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    """FreeRADIUS from a copy of /etc/freeradius/3.0 with one site and a users file entry."""
    binary = shutil.which("freeradius")
    if binary is None or not Path("/etc/freeradius/3.0").is_dir():
        return None
    raddb = tmp / "raddb"
    shutil.copytree("/etc/freeradius/3.0", raddb, symlinks=True)
    (tmp / "log").mkdir()
    (tmp / "run").mkdir()
    conf = (raddb / "radiusd.conf").read_text()
    lines = []
    for line in conf.splitlines():
        stripped = line.strip()
        if stripped.startswith("logdir ="):
            line = f"logdir = {tmp / 'log'}"
        elif stripped.startswith("run_dir ="):
            line = f"run_dir = {tmp / 'run'}"
        elif stripped.startswith(("user = freerad", "group = freerad")):
            line = "#" + line
        elif stripped.startswith("reject_delay ="):
            line = "reject_delay = 0"
        elif stripped.startswith("proxy_requests"):
            line = "proxy_requests = no"
        lines.append(line)
    (raddb / "radiusd.conf").write_text("\n".join(lines) + "\n")
    for site in (raddb / "sites-enabled").iterdir():
        site.unlink()
    (raddb / "mods-enabled" / "eap").unlink(missing_ok=True)
    authorize = raddb / "mods-config" / "files" / "authorize"
    entry = f'{USER} Cleartext-Password := "{PASSWORD}"\n\tReply-Message := "hello"\n\n'
    authorize.write_text(entry + authorize.read_text())
    port = free_port()
    clients = raddb / "clients.conf"
    clients.write_text(f"client bench {{\n ipaddr = 127.0.0.1\n secret = {SECRET.decode()}\n}}\n")
    site = f"""server bench {{
listen {{
 type = auth
 ipaddr = 127.0.0.1
 port = {port}
}}
authorize {{
 files
 pap
}}
authenticate {{
 Auth-Type PAP {{
  pap
 }}
}}
}}
"""
    (raddb / "sites-enabled" / "bench").write_text(site)
    proc = subprocess.Popen(
        [binary, "-f", "-l", str(tmp / "log" / "radius.log"), "-d", str(raddb)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, port


# -- load generators ----------------------------------------------------------------------------
def _request(identifier: int) -> tuple[bytes, bytes]:
    auth = secrets.token_bytes(16)
    attrs = [
        (rp.Attr.USER_NAME, USER.encode()),
        (rp.Attr.USER_PASSWORD, rp.hide_password(PASSWORD.encode(), SECRET, auth)),
        (rp.Attr.NAS_IP_ADDRESS, socket.inet_aton("127.0.0.1")),
    ]
    return rp.encode_request(rp.Code.ACCESS_REQUEST, identifier, auth, SECRET, attrs), auth


def radius_load(port: int, seconds: float, window: int) -> dict[str, float]:
    """Keep ``window`` Access-Requests in flight for ``seconds``; count verified accepts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(2.0)
    pending: dict[int, bytes] = {}
    next_id, accepts, other, lost = 0, 0, 0, 0

    def send() -> None:
        nonlocal next_id
        while next_id in pending:
            next_id = (next_id + 1) % 256
        data, auth = _request(next_id)
        pending[next_id] = auth
        sock.send(data)
        next_id = (next_id + 1) % 256

    for _ in range(window):
        send()
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        try:
            reply = sock.recv(4096)
        except TimeoutError:
            lost += len(pending)
            pending.clear()
            for _ in range(window):
                send()
            continue
        auth = pending.pop(reply[1], None)
        if (
            auth is not None
            and reply[0] == rp.Code.ACCESS_ACCEPT
            and rp.verify_reply(reply, auth, SECRET)
        ):
            accepts += 1
        else:
            other += 1
        send()
    elapsed = time.perf_counter() - start
    sock.close()
    return {"per_second": accepts / elapsed, "accepts": accepts, "other": other, "lost": lost}


def _pap(session: int) -> bytes:
    user, pw = USER.encode(), PASSWORD.encode()
    body = struct.pack("!8B", 1, 1, 2, 1, len(user), 4, 0, len(pw)) + user + b"tty0" + pw
    header = tp.Header(0xC1, 1, 1, tp.SINGLE_CONNECT_FLAG, session, len(body))
    head = struct.pack("!BBBBII", 0xC1, 1, 1, tp.SINGLE_CONNECT_FLAG, session, len(body))
    return head + tp.obfuscate(header, TAC_KEY, body)


async def _tacacs_worker(port: int, deadline: float, counts: list[int]) -> None:
    """PAP logins over single-connect connections, reconnecting when the server's
    per-connection session bound (max_sessions_per_connection) closes one."""
    session = secrets.randbits(31)
    while time.perf_counter() < deadline:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                session += 1
                writer.write(_pap(session))
                raw = await reader.readexactly(12)
                header = tp.decode_header(raw, max_body=1 << 16)
                body = tp.obfuscate(header, TAC_KEY, await reader.readexactly(header.length))
                counts[0 if body[0] == tp.AuthenStatus.PASS else 1] += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def tacacs_load(port: int, seconds: float, connections: int) -> dict[str, float]:
    counts = [0, 0]

    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(
            *(_tacacs_worker(port, start + seconds, counts) for _ in range(connections))
        )
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    return {"per_second": counts[0] / elapsed, "accepts": counts[0], "other": counts[1]}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its descendants (Linux ``/proc``), 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, ValueError, IndexError):
        return 0.0
    return total + sum(_cpu_seconds(int(child)) for child in children)


def _in_process(target: Any, *args: Any, server_pid: int | None = None) -> Any:
    """Run a load generator in a fresh process (its own GIL) and return its result, with the
    server's CPU time per answer (``cpu_us``): the figure a loaded machine disturbs least."""
    before = _cpu_seconds(server_pid) if server_pid else 0.0
    with mp.get_context("spawn").Pool(1) as pool:
        result: dict[str, float] = pool.apply(target, args)
    if server_pid:
        answered = result["accepts"] + result["other"]
        result["cpu_us"] = (_cpu_seconds(server_pid) - before) / max(answered, 1) * 1e6
    return result


def _ready(port: int, tries: int = 100) -> None:
    for _ in range(tries):
        try:
            if radius_load(port, 0.05, 1)["accepts"]:
                return
        except ConnectionRefusedError:  # not listening yet
            pass
        time.sleep(0.1)
    raise RuntimeError(f"nothing accepts on port {port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="authgate aaa worker processes")
    parser.add_argument("--rows", default="freeradius,warm,cold,tacacs")
    args = parser.parse_args()
    wanted = set(args.rows.split(","))
    ctx = mp.get_context("spawn")
    rows: list[tuple[str, dict[str, float]]] = []
    procs: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="bench-aaa-") as tmp:
        try:
            parent, child = ctx.Pipe()
            idp = ctx.Process(target=_idp_process, args=(child,), daemon=True)
            idp.start()
            procs.append(idp)
            idp_url = parent.recv()
            servers = {}
            pids: dict[bool, int] = {}
            for cache in (True, False):
                parent, child = ctx.Pipe()
                proc = ctx.Process(
                    target=_aaa_process, args=(child, idp_url, cache, args.workers), daemon=True
                )
                proc.start()
                procs.append(proc)
                servers[cache] = parent.recv()
                pids[cache] = proc.pid
            freeradius = start_freeradius(Path(tmp)) if "freeradius" in wanted else None
            if freeradius is not None:
                _ready(freeradius[1])
                rows.append(
                    (
                        "FreeRADIUS users file",
                        _in_process(
                            radius_load,
                            freeradius[1],
                            args.seconds,
                            args.window,
                            server_pid=freeradius[0].pid,
                        ),
                    )
                )
            _ready(servers[True][0])
            for _ in range(args.workers):  # every worker has its own memory cache to warm
                radius_load(servers[True][0], 0.2, 1)
            if "warm" in wanted:
                row = _in_process(
                    radius_load, servers[True][0], args.seconds, args.window, server_pid=pids[True]
                )
                rows.append(("authgate RADIUS warm cache", row))
            if "cold" in wanted:
                row = _in_process(
                    radius_load,
                    servers[False][0],
                    args.seconds,
                    args.window,
                    server_pid=pids[False],
                )
                rows.append(("authgate RADIUS cold (dev IdP)", row))
            if "tacacs" in wanted:
                row = _in_process(tacacs_load, servers[True][1], args.seconds, args.connections)
                rows.append(("authgate TACACS+ PAP warm", row))
        finally:
            if "freeradius" in locals() and freeradius is not None:
                freeradius[0].send_signal(signal.SIGTERM)
                freeradius[0].wait(10)
            for proc in procs:
                proc.terminate()
                proc.join(10)
    env = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "seconds": args.seconds,
        "window": args.window,
        "workers": args.workers,
        "freeradius": freeradius is not None if "freeradius" in locals() else False,
        "load_average_1min": os.getloadavg()[0],
    }
    table = dict(rows)
    reference = table.get("FreeRADIUS users file", {}).get("per_second")
    warm = table.get("authgate RADIUS warm cache", {}).get("per_second", 0.0)
    verdict = None if not reference else warm >= reference / 2
    if args.json:
        print(
            json.dumps(
                {"environment": env, "rows": table, "warm_within_2x_freeradius": verdict}, indent=2
            )
        )
        return
    print(f"{'row':<32} {'per s':>10} {'accepts':>9} {'other':>6} {'server CPU us/req':>18}")
    for name, result in rows:
        cpu = f"{result['cpu_us']:.1f}" if "cpu_us" in result else "-"
        print(
            f"{name:<32} {result['per_second']:>10.0f} {result['accepts']:>9.0f}"
            f" {result['other']:>6.0f} {cpu:>18}"
        )
    if reference:
        print(
            f"\nwarm / FreeRADIUS = {warm / reference:.2f}  (target >= 0.50: {'met' if verdict else 'NOT met'})"
        )
    print(json.dumps(env))


if __name__ == "__main__":
    sys.exit(main())
