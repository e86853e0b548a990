"""Forward auth behind REAL nginx (auth_request) and Caddy (forward_auth), shipped snippets verbatim.

``deploy/nginx/authgate.conf`` and ``deploy/caddy/Caddyfile`` are read from the repository and
only their placeholders (addresses) are replaced; nginx and Caddy run from temp dirs on free
loopback ports. A missing binary fails the test with the install hint (never a skip).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.gateway.conftest import Gateway, MakeGateway, echo_upstream
from tests.support.asgi_server import Served, serve

from authgate.limits.base import LimitConfig

ROOT = Path(__file__).resolve().parents[2]
NGINX_SNIPPET = ROOT / "deploy" / "nginx" / "authgate.conf"
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"

pytestmark = pytest.mark.services


def _binary(name: str) -> str:
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if path is None:
        pytest.fail(
            f"{name} is not installed: run scripts/install (Debian package {name})", pytrace=False
        )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(400):  # bounded: ~10 s of 25 ms connect attempts
        if process.poll() is not None:
            pytest.fail(f"server exited: {log.read_text(errors='replace')[-2000:]}", pytrace=False)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.025):
                return
        except OSError:
            with contextlib.suppress(subprocess.TimeoutExpired):  # doubles as the pause
                process.wait(timeout=0.025)
    pytest.fail(
        f"nothing listening on {port}: {log.read_text(errors='replace')[-2000:]}", pytrace=False
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _hostport(served: Served) -> str:
    return served.url.removeprefix("http://")


@pytest.fixture(scope="module")
def upstream() -> Iterator[Served]:
    with serve(echo_upstream) as served:
        yield served


@pytest.fixture
def gateway(make_gateway: MakeGateway) -> Iterator[tuple[Gateway, Served]]:
    gw = make_gateway(limiter=LimitConfig(ip_limit=3, identity_limit=0, interval=60))
    with serve(gw.app) as served:
        yield gw, served


@pytest.fixture
def nginx(tmp_path: Path, gateway: tuple[Gateway, Served], upstream: Served) -> Iterator[str]:
    binary = _binary("nginx")
    port = _free_port()
    snippet = (
        NGINX_SNIPPET.read_text()
        .replace("__LISTEN__", f"127.0.0.1:{port}")
        .replace("__AUTHGATE__", _hostport(gateway[1]))
        .replace("__UPSTREAM__", _hostport(upstream))
    )
    (tmp_path / "logs").mkdir()
    (tmp_path / "tmp").mkdir()
    (tmp_path / "authgate.conf").write_text(snippet)
    (tmp_path / "nginx.conf").write_text(
        "daemon off;\nworker_processes 1;\npid nginx.pid;\nerror_log logs/error.log info;\n"
        "events { worker_connections 256; }\n"
        "http {\n  access_log logs/access.log;\n"
        "  client_body_temp_path tmp/body; proxy_temp_path tmp/proxy;\n"
        "  fastcgi_temp_path tmp/fastcgi; uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;\n"
        "  include authgate.conf;\n}\n"
    )
    log = tmp_path / "logs" / "error.log"
    process = subprocess.Popen(
        [binary, "-p", str(tmp_path), "-c", "nginx.conf"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


@pytest.fixture
def caddy(tmp_path: Path, gateway: tuple[Gateway, Served], upstream: Served) -> Iterator[str]:
    binary = _binary("caddy")
    port = _free_port()
    config = (
        CADDYFILE.read_text()
        .replace("__SITE__", f"http://127.0.0.1:{port}")
        .replace("__BIND__", "127.0.0.1")
        .replace("__AUTHGATE__", _hostport(gateway[1]))
        .replace("__UPSTREAM__", _hostport(upstream))
    )
    (tmp_path / "Caddyfile").write_text(config)
    log = tmp_path / "caddy.log"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "run", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        _wait_for(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


def _echo(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {k.lower(): v for k, v in response.json()["headers"]}


@pytest.mark.parametrize("shape", ["nginx", "caddy"])
def test_real_proxy_forward_auth(
    request: pytest.FixtureRequest, shape: str, gateway: tuple[Gateway, Served]
) -> None:
    base = request.getfixturevalue(shape)
    gw = gateway[0]
    forged = {"X-Authgate-Subject": "root", "X-Authgate-Roles": "Admin"}
    with httpx.Client(base_url=base, timeout=10) as http:
        missing = http.get("/api/v1/policies")
        assert missing.status_code == 401
        assert missing.headers["x-authgate-code"] == "auth.missing_token"
        assert "www-authenticate" in missing.headers

        seen = _echo(
            http.get(
                "/api/v1/policies", headers={"Authorization": f"Bearer {gw.token()}", **forged}
            )
        )
        assert seen["x-authgate-subject"] == "alice@example.com"
        assert "Admin" not in seen.get("x-authgate-roles", "")
        assert "api:read" in seen["x-authgate-scopes"].split(" ")

        public = _echo(http.get("/api/v1/health", headers=forged))
        assert public.get("x-authgate-subject", "") == ""  # empty or absent, never forged
        assert public.get("x-authgate-roles", "") == ""

        denied = http.post("/api/v1/policies", headers={"Authorization": f"Bearer {gw.token()}"})
        assert denied.status_code == 403
        assert denied.headers["x-authgate-code"] == "auth.role_missing"
        admin = gw.token(roles=["Admin"])
        assert (
            http.post("/api/v1/policies", headers={"Authorization": f"Bearer {admin}"}).status_code
            == 200
        )

        assert (
            http.get("/nowhere", headers={"Authorization": f"Bearer {gw.token()}"}).status_code
            == 403
        )
        traversal = http.get("/api/v1/health/%2e%2e/policies")
        assert traversal.status_code in (403, 400)  # nginx/Caddy may refuse it themselves

        statuses = [
            http.get("/api/v1/policies", headers={"Authorization": "Bearer bad.to.ken"}).status_code
            for _ in range(3)
        ]
        assert statuses == [401, 401, 401]
        limited = http.get("/api/v1/policies", headers={"Authorization": "Bearer bad.to.ken"})
        assert limited.status_code == 429, limited.text
        assert int(limited.headers["retry-after"]) == 60
        assert limited.headers["x-authgate-code"] == "auth.rate_limited.ip"


def test_nginx_never_answers_500(nginx: str, gateway: tuple[Gateway, Served]) -> None:
    """Forward-auth refusals of every kind stay 401/403/429 through nginx."""
    with httpx.Client(base_url=nginx, timeout=10) as http:
        cases = [
            {"Authorization": "Basic dXNlcjpwdw=="},
            {"Authorization": "Bearer a b"},
            {"Authorization": "DPoP x.y.z"},
            {"Authorization": "Bearer " + "a" * 20000 + ".b.c"},
        ]
        for headers in cases:
            response = http.get("/api/v1/policies", headers=headers)
            assert response.status_code in (401, 403, 429, 431, 400), (
                headers.keys(),
                response.status_code,
            )
            assert response.status_code != 500
