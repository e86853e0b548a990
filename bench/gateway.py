"""Gateway benchmark (issue #7): wrk on loopback against authgate and its peers, same upstream.

Every server process is pinned to CPU 0 (``taskset -c 0``) and wrk to CPU 1, so the figures
compare per-core efficiency. Rows, each at 1 and 32 connections, all in front of
``bench/upstream_hello.py``:

- ``direct``          wrk → hello upstream
- ``nginx``           nginx plain proxy (upstream keep-alive) → hello
- ``nginx+authgate``  nginx ``auth_request`` → ``authgate serve`` ``/authz/nginx``, then → hello
- ``authgate-proxy``  ``authgate serve`` reverse proxy (policy, JWT, identity headers) → hello
- ``nginx+pyjwt``     the user-built peer: nginx ``auth_request`` → Starlette + PyJWT → hello
- with ``--clients``: a bare proxy (no auth) on uvicorn with our pool, aiohttp and httpx, which
  is how the upstream client was chosen (see ``authgate/gateway/upstream_pool.py``).

Reported per row: rps, p50, p99, non-2xx + socket errors, and server CPU per request from
``/proc/PID/stat`` utime+stime deltas — of the component under test (``cpu_us``) and of every
server process in the row (``all_us``). Tokens are RS256, signed here (never by authgate).

    python bench/gateway.py [--seconds 5] [--connections 1,32] [--clients] [--json out.json]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
ISSUER = "https://bench.example.com/oauth2/default"
AUDIENCE = "api://bench"
SERVER_CPU, WRK_CPU = "0", "1"
TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


# -- tokens (RS256, signed with cryptography directly) -------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token_and_jwks() -> tuple[str, dict[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "RSA", "kid": "bench-1", "alg": "RS256", "use": "sig",
           "n": _b64(numbers.n.to_bytes(256, "big")), "e": _b64(numbers.e.to_bytes(3, "big"))}  # fmt: skip
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench@example.com", "iat": now,
              "exp": now + 3600, "cid": "0oabench", "scp": ["api:read"], "jti": "bench"}  # fmt: skip
    header = {"alg": "RS256", "kid": "bench-1", "typ": "JWT"}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}", {"keys": [jwk]}


# -- processes -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(port: int, path: str = "/", headers: dict[str, str] | None = None,
              timeout: float = 60.0) -> int:  # fmt: skip
    """Poll until the server answers anything on ``path``; return the status."""
    deadline = time.monotonic() + timeout
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    request += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()) + "\r\n"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(request.encode())
                answer = sock.recv(256)
            if answer.startswith(b"HTTP/1."):
                return int(answer.split()[1])
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port} within {timeout:g} s")


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]

    def pids(self) -> list[int]:
        """The process and its children (nginx workers)."""
        found = [self.proc.pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    found.append(int(entry))
        return found

    def cpu_ticks(self) -> int:
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def spawn(name: str, argv: Sequence[str], *, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> Server:  # fmt: skip
    proc = subprocess.Popen(
        ["taskset", "-c", SERVER_CPU, *argv],
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=open(Path(tempfile.gettempdir()) / f"bench-gateway-{name}.log", "wb"),  # noqa: SIM115
    )
    return Server(name, proc)


def uvicorn_argv(app: str, port: int, *extra: str) -> list[str]:
    return [PY, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--loop",
            "uvloop", "--http", "httptools", "--no-access-log", "--no-server-header",
            "--log-level", "warning", *extra]  # fmt: skip


NGINX_CONF = """daemon off; worker_processes 1; pid nginx.pid; error_log logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
  upstream hello {{ server 127.0.0.1:{upstream}; keepalive 64; }}
  {authz_upstream}
  server {{
    listen 127.0.0.1:{port};
    {authz_location}
    location / {{
      {auth_request}
      proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_pass http://hello;
    }}
  }}
}}
"""
AUTHZ_LOCATION = """location = /_authz {{
      internal;
      proxy_pass http://authz{path};
      proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_pass_request_body off; proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }}"""


def start_nginx(
    workdir: Path, upstream: int, authz: tuple[int, str] | None = None
) -> tuple[Server, int]:
    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="nginx-", dir=workdir))
    (directory / "logs").mkdir()
    (directory / "tmp").mkdir()
    conf = NGINX_CONF.format(
        upstream=upstream,
        port=port,
        authz_upstream=f"upstream authz {{ server 127.0.0.1:{authz[0]}; keepalive 64; }}"
        if authz
        else "",
        authz_location=AUTHZ_LOCATION.format(path=authz[1]) if authz else "",
        auth_request="auth_request /_authz;" if authz else "",
    )
    (directory / "nginx.conf").write_text(conf)
    os.chmod(directory, 0o755)
    return spawn("nginx", ["nginx", "-p", str(directory), "-c", "nginx.conf"]), port


# -- wrk -----------------------------------------------------------------------------------------
@dataclass
class Result:
    row: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float
    all_us: float
    extra: dict[str, Any] = field(default_factory=dict)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def run_wrk(url: str, connections: int, seconds: float, token: str | None) -> dict[str, Any]:
    argv = ["taskset", "-c", WRK_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s",
            "--latency", "--timeout", "5s", url]  # fmt: skip
    if token:
        argv[4:4] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(int(g) for g in sockets.groups()) if sockets else 0
    )
    return {
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(latency["50"]),
        "p99": _ms(latency["99"]),
        "errors": errors,
    }


def measure(row: str, url: str, servers: list[Server], focus: Server, args: argparse.Namespace,
            token: str | None = None) -> list[Result]:  # fmt: skip
    results = []
    for connections in args.connections:
        run_wrk(url, connections, 1.0, token)  # warm-up: pools filled, caches hot
        before = [s.cpu_ticks() for s in servers]
        out = run_wrk(url, connections, args.seconds, token)
        after = [s.cpu_ticks() for s in servers]
        deltas = {s.name: (a - b) * TICK_US for s, a, b in zip(servers, after, before, strict=True)}
        n = max(out["requests"], 1)
        result = Result(row, connections, out["rps"], out["p50"], out["p99"], out["errors"],
                        deltas[focus.name] / n, sum(deltas.values()) / n)  # fmt: skip
        results.append(result)
        print(f"{row:<16} c={connections:<3} {result.rps:>9.0f} rps  p50 {result.p50_ms:6.2f} ms  "
              f"p99 {result.p99_ms:6.2f} ms  err {result.errors:<4} cpu {result.cpu_us:6.0f} µs/req "
              f"(all servers {result.all_us:4.0f})", flush=True)  # fmt: skip
    return results


# -- servers this script runs itself (``gateway.py serve KIND …``, started pinned) ---------------
def pyjwt_app(jwks_path: str) -> Any:
    """The user-built peer: a minimal Starlette forward-auth endpoint verifying with PyJWT."""
    import jwt
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    key = jwt.PyJWK(json.loads(Path(jwks_path).read_text())["keys"][0]).key

    async def verify(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            claims = jwt.decode(token, key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)
        except jwt.PyJWTError:
            return Response(status_code=401)
        if scheme.lower() != "bearer" or "api:read" not in claims.get("scp", []):
            return Response(status_code=403)
        return Response(headers={"x-user": claims["sub"]})

    return Starlette(routes=[Route("/verify", verify)])


def bare_proxy_app(kind: str, upstream: str) -> Any:
    """A proxy without auth on one upstream client: ours, aiohttp or httpx (streaming both)."""
    if kind == "pool":
        from authgate.gateway.proxy import ReverseProxy

        return ReverseProxy(upstream, pool_size=100)
    hop = {b"host", b"connection", b"keep-alive", b"transfer-encoding", b"content-length"}

    async def body(receive: Any) -> Any:
        while True:
            message = await receive()
            if message.get("body"):
                yield message["body"]
            if not message.get("more_body"):
                return

    state: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        url = (
            upstream
            + scope["raw_path"].decode()
            + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        )
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k not in hop]
        if kind == "aiohttp":
            import aiohttp

            session = state.get("s") or state.setdefault(
                "s", aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
            )
            async with session.request(scope["method"], url, headers=headers,
                                       data=body(receive) if scope["method"] in ("POST", "PUT") else None,
                                       auto_decompress=False) as resp:  # fmt: skip
                out = [(k.lower(), v) for k, v in resp.raw_headers if k.lower() not in hop]
                await send({"type": "http.response.start", "status": resp.status, "headers": out})
                async for chunk in resp.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            import httpx

            client = state.get("c") or state.setdefault(
                "c", httpx.AsyncClient(limits=httpx.Limits(max_connections=100), timeout=30)
            )
            request = client.build_request(scope["method"], url, headers=headers)
            resp = await client.send(request, stream=True)
            try:
                out = [(k.lower(), v) for k, v in resp.headers.raw if k.lower() not in hop]
                await send(
                    {"type": "http.response.start", "status": resp.status_code, "headers": out}
                )
                async for chunk in resp.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            finally:
                await resp.aclose()
        await send({"type": "http.response.body", "body": b""})

    return app


def serve(argv: list[str]) -> None:
    import uvicorn

    kind, port = argv[0], int(argv[-1])
    app = pyjwt_app(argv[1]) if kind == "pyjwt" else bare_proxy_app(kind, argv[1])
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                access_log=False, server_header=False, log_level="warning", lifespan="off")  # fmt: skip


# -- the run -------------------------------------------------------------------------------------
POLICY = '[[rules]]\nname = "bench"\npath = "/bench"\nscopes = ["api:read"]\n'


def start_authgate(
    workdir: Path, upstream: int, extra_env: Sequence[str] = ()
) -> tuple[Server, int]:
    port = free_port()
    (workdir / "policy.toml").write_text(POLICY)
    (workdir / "authgate.toml").write_text(
        f'issuer = "{ISSUER}"\naudiences = ["{AUDIENCE}"]\njwks_file = "{workdir / "jwks.json"}"\n'
        f'[gateway]\nlisten = "127.0.0.1:{port}"\nupstream = "http://127.0.0.1:{upstream}"\n'
        f'policy_file = "{workdir / "policy.toml"}"\npolicy_watch = false\n'
    )
    env = {"AUTHGATE_TOKEN_STORE_PATH": str(workdir / "tokens.db")}
    env.update(item.split("=", 1) for item in extra_env)
    # what `authgate serve --config FILE` runs (called directly: works while the CLI evolves)
    code = "import sys; from authgate.gateway.server import run; run(sys.argv[1])"
    argv = [PY, "-c", code, str(workdir / "authgate.toml")]
    return spawn("authgate", argv, env=env, cwd=workdir), port


def main(argv: list[str] | None = None) -> None:
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["serve"]:
        serve(args_list[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--connections", type=lambda s: [int(x) for x in s.split(",")], default=[1, 32]
    )
    parser.add_argument("--rows", default="direct,nginx,nginx+authgate,authgate-proxy,nginx+pyjwt")
    parser.add_argument("--clients", action="store_true", help="also compare upstream clients")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--authgate-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for authgate, e.g. AUTHGATE_GATEWAY_ACCESS_LOG=false",
    )
    args = parser.parse_args(args_list)
    rows = args.rows.split(",")
    workdir = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    token, jwks = make_token_and_jwks()
    (workdir / "jwks.json").write_text(json.dumps(jwks))
    bearer = {"Authorization": f"Bearer {token}"}
    started: list[Server] = []
    results: list[Result] = []

    def up(server: Server) -> Server:
        started.append(server)
        return server

    try:
        hello_port = free_port()
        hello = up(
            spawn(
                "hello", [PY, str(ROOT / "bench" / "upstream_hello.py"), "--port", str(hello_port)]
            )
        )
        wait_http(hello_port)
        if "direct" in rows:
            results += measure(
                "direct", f"http://127.0.0.1:{hello_port}/bench", [hello], hello, args
            )
        if "nginx" in rows:
            nginx, port = start_nginx(workdir, hello_port)
            up(nginx)
            wait_http(port)
            results += measure(
                "nginx", f"http://127.0.0.1:{port}/bench", [nginx, hello], nginx, args
            )
        if "nginx+authgate" in rows or "authgate-proxy" in rows:
            authgate, ag_port = start_authgate(workdir, hello_port, args.authgate_env)
            up(authgate)
            assert wait_http(ag_port, "/bench", bearer, timeout=120) == 200, "authgate refused"
            if "nginx+authgate" in rows:
                nginx, port = start_nginx(workdir, hello_port, (ag_port, "/authz/nginx"))
                up(nginx)
                assert wait_http(port, "/bench", bearer) == 200
                results += measure("nginx+authgate", f"http://127.0.0.1:{port}/bench",
                                   [nginx, authgate, hello], authgate, args, token)  # fmt: skip
            if "authgate-proxy" in rows:
                results += measure("authgate-proxy", f"http://127.0.0.1:{ag_port}/bench",
                                   [authgate, hello], authgate, args, token)  # fmt: skip
        if "nginx+pyjwt" in rows:
            peer_port = free_port()
            peer = up(
                spawn(
                    "pyjwt",
                    [PY, __file__, "serve", "pyjwt", str(workdir / "jwks.json"), str(peer_port)],
                )
            )
            wait_http(peer_port, "/verify", timeout=120)
            nginx, port = start_nginx(workdir, hello_port, (peer_port, "/verify"))
            up(nginx)
            assert wait_http(port, "/bench", bearer) == 200
            results += measure("nginx+pyjwt", f"http://127.0.0.1:{port}/bench",
                               [nginx, peer, hello], peer, args, token)  # fmt: skip
        if args.clients:
            for kind in ("pool", "aiohttp", "httpx"):
                port = free_port()
                proxy = up(
                    spawn(
                        kind,
                        [PY, __file__, "serve", kind, f"http://127.0.0.1:{hello_port}", str(port)],
                    )
                )
                wait_http(port, timeout=120)
                results += measure(f"proxy[{kind}]", f"http://127.0.0.1:{port}/bench",
                                   [proxy, hello], proxy, args)  # fmt: skip
                proxy.stop()
    finally:
        for server in reversed(started):
            server.stop()
    report(results, args)


def report(results: list[Result], args: argparse.Namespace) -> None:
    by = {(r.row, r.connections): r for r in results}
    print("\nratios (rps; cpu = component µs/request; Δp50 vs nginx plain):")
    for c in args.connections:
        direct, nginx = by.get(("direct", c)), by.get(("nginx", c))
        for r in (r for r in results if r.connections == c):
            parts = [f"{r.row:<16} c={c:<3}"]
            if direct:
                parts.append(f"{r.rps / direct.rps:5.2f}× direct")
            if nginx:
                parts.append(
                    f"{r.rps / nginx.rps:5.2f}× nginx  Δp50 {r.p50_ms - nginx.p50_ms:+6.2f} ms"
                )
            peer = by.get(("nginx+pyjwt", c))
            if peer and r.row == "nginx+authgate":
                parts.append(f"{r.rps / peer.rps:5.2f}× pyjwt peer")
            print("  ".join(parts))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2))


if __name__ == "__main__":
    main()
