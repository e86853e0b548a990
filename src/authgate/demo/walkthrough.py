"""The demo walk-through: copy-paste shell lines and their in-process twins (issue #7 demo list).

Each :class:`Step` has the ``curl`` line a person pastes and a function doing the same request
in-process (``--once`` and CI). The printed block is itself a valid shell script: comments start
with ``#``, every other line is a command, and variables (``TOKEN``, ``ADMIN_TOKEN`` …) flow from
one line to the next. Request lines end with the HTTP status on a line of its own
(``-w '\\n%{http_code}\\n'``) so the outcome is visible at a glance.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import orjson

from authgate.idp.config import AppConfig

from .dpop_curl import curl_config
from .stack import DemoStack

__all__ = ["Step", "Walkthrough"]

_W = "-w '\\n%{http_code}\\n'"
_WS = (
    "import sys; from websockets.sync.client import connect; "
    'c = connect(sys.argv[1], additional_headers={"Authorization": "Bearer " + sys.argv[2]}); '
    'c.send("hello authgate"); print(c.recv()); c.close(); print(101)'
)


@dataclass
class Step:
    """One line of the walk-through; ``expect`` is the HTTP status (None: a variable is set)."""

    title: str
    command: str
    run: Callable[[], tuple[int, str]]
    expect: int | None = None


@dataclass
class Walkthrough:
    stack: DemoStack
    vars: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.Client(timeout=30)
        self.py = shlex.quote(sys.executable)

    def close(self) -> None:
        self.http.close()

    def _app(self, name: str) -> AppConfig:
        app = self.stack.idp.app(name)
        if app is None:
            raise RuntimeError(f"the dev IdP config lacks the demo app {name!r}")
        return app

    # -- in-process twins ---------------------------------------------------------------------
    def _answer(self, response: httpx.Response) -> tuple[int, str]:
        return response.status_code, response.text[:300]

    def _client_token(self, var: str, app_name: str) -> Callable[[], tuple[int, str]]:
        def run() -> tuple[int, str]:
            app = self._app(app_name)
            response = self.http.post(
                f"{self.stack.issuer}/v1/token",
                data={"grant_type": "client_credentials", "scope": "api:read"},
                auth=(app.client_id, app.client_secret or ""),
            )
            return self._keep(var, response, "access_token")

        return run

    def _keep(self, var: str, response: httpx.Response, name: str) -> tuple[int, str]:
        if response.status_code in (200, 201):
            self.vars[var] = str(response.json()[name])
            return response.status_code, f"{var} set"
        return self._answer(response)

    def _call(
        self, method: str, url: str, var: str, **kwargs: object
    ) -> Callable[[], tuple[int, str]]:
        def run() -> tuple[int, str]:
            headers = {"Authorization": f"Bearer {self.vars[var]}"} if var else {}
            return self._answer(self.http.request(method, url, headers=headers, **kwargs))  # type: ignore[arg-type]

        return run

    # -- the steps ----------------------------------------------------------------------------
    def steps(self) -> list[Step]:
        s, py = self.stack, self.py
        gw, iss = s.gateway_url, s.issuer
        policies = f"{gw}/api/v1/policies"
        svc, admin, native, dpop = (
            self._app(n) for n in ("demo-service", "demo-admin", "demo-native", "demo-dpop")
        )
        field_of = f"{py} -m authgate.demo.field"
        bearer = '-H "Authorization: Bearer ${}"'
        json_body = "-H 'content-type: application/json' -d '{\"name\":\"demo\"}'"

        def token_line(var: str, client_id: str, secret: str | None) -> str:
            return (
                f"{var}=$(curl -s -u {client_id}:{secret} -d grant_type=client_credentials "
                f"-d scope=api:read {iss}/v1/token | {field_of} access_token)"
            )

        def user_token() -> tuple[int, str]:
            response = self.http.post(
                f"{iss}/v1/token",
                data={
                    "grant_type": "password",
                    "username": "bob@example.com",
                    "password": "Bob-DEV-only-1",
                    "scope": "api:read",
                },
                auth=(native.client_id, native.client_secret or ""),
            )
            return self._keep("USER_TOKEN", response, "access_token")

        def service_token() -> tuple[int, str]:
            response = self.http.post(
                f"{gw}/__authgate/api/tokens",
                json={"description": "demo", "scopes": ["api:read"]},
                headers={"Authorization": f"Bearer {s.bootstrap_token}"},
            )
            return self._keep("SERVICE_TOKEN", response, "token")

        def dpop_call() -> tuple[int, str]:
            url = f"{gw}/api/v1/whoami"
            config = curl_config(
                iss, dpop.client_id, str(s.dpop_key_file), "GET", url, ["api:read"]
            )
            headers = dict(line[10:-1].split(": ", 1) for line in config.splitlines())
            return self._answer(self.http.get(url, headers=headers))

        def websocket() -> tuple[int, str]:
            from websockets.sync.client import connect

            ws_url = gw.replace("http://", "ws://") + "/api/v1/ws"
            with connect(
                ws_url, additional_headers={"Authorization": f"Bearer {self.vars['TOKEN']}"}
            ) as ws:
                ws.send("hello authgate")
                return 101, str(ws.recv())

        def upload() -> tuple[int, str]:
            with s.sample_file.open("rb") as f:
                files = {"file": (s.sample_file.name, f)}
                headers = {"Authorization": f"Bearer {self.vars['TOKEN']}"}
                return self._answer(
                    self.http.post(f"{gw}/api/v1/rebuild/file", files=files, headers=headers)
                )

        whoami_dpop = f"{gw}/api/v1/whoami"
        return [
            Step(
                "no token: refused",
                f"curl -s {_W} {policies}",
                self._call("GET", policies, ""),
                401,
            ),
            Step(
                "a token with client credentials (demo-service, role User)",
                token_line("TOKEN", svc.client_id, svc.client_secret),
                self._client_token("TOKEN", "demo-service"),
            ),
            Step(
                "200 with it",
                f"curl -s {_W} {bearer.format('TOKEN')} {policies}",
                self._call("GET", policies, "TOKEN"),
                200,
            ),
            Step(
                "POST needs role Admin: 403 auth.role_missing",
                f"curl -s {_W} -X POST {bearer.format('TOKEN')} {json_body} {policies}",
                self._call("POST", policies, "TOKEN", json={"name": "demo"}),
                403,
            ),
            Step(
                "an admin client's token (demo-admin, role Admin)",
                token_line("ADMIN_TOKEN", admin.client_id, admin.client_secret),
                self._client_token("ADMIN_TOKEN", "demo-admin"),
            ),
            Step(
                "200 with the admin client",
                f"curl -s {_W} -X POST {bearer.format('ADMIN_TOKEN')} {json_body} {policies}",
                self._call("POST", policies, "ADMIN_TOKEN", json={"name": "demo"}),
                200,
            ),
            Step(
                "a service token, minted with the DEV-ONLY admin token",
                f"SERVICE_TOKEN=$(curl -s -H \"Authorization: Bearer $BOOTSTRAP\" -H 'content-type: application/json' "
                f'-d \'{{"description":"demo","scopes":["api:read"]}}\' {gw}/__authgate/api/tokens | {field_of} token)',
                service_token,
            ),
            Step(
                "200 with the service token",
                f"curl -s {_W} {bearer.format('SERVICE_TOKEN')} {policies}",
                self._call("GET", policies, "SERVICE_TOKEN"),
                200,
            ),
            Step(
                "a DPoP-bound token and proof (RFC 9449), signed by a small authgate helper",
                f"{py} -m authgate.demo.dpop_curl --issuer {iss} --client-id {dpop.client_id} "
                f"--key-file {shlex.quote(str(s.dpop_key_file))} --scope api:read GET {whoami_dpop} "
                f"| curl -s {_W} -K - {whoami_dpop}",
                dpop_call,
                200,
            ),
            Step(
                "a user's token (bob, password grant of the native demo app)",
                f"USER_TOKEN=$(curl -s -u {native.client_id}:{native.client_secret} -d grant_type=password "
                f"-d username=bob@example.com -d password=Bob-DEV-only-1 -d scope=api:read {iss}/v1/token "
                f"| {field_of} access_token)",
                user_token,
            ),
            Step(
                "token exchange hop (RFC 8693): the upstream receives a token for itself, sub=bob, cid=demo-exchange",
                f"curl -s {_W} {bearer.format('USER_TOKEN')} {s.exchange_url}/api/v1/whoami",
                self._call("GET", f"{s.exchange_url}/api/v1/whoami", "USER_TOKEN"),
                200,
            ),
            Step(
                "multipart upload, streamed through the gateway (SHA-256 + size back)",
                f"curl -s {_W} {bearer.format('TOKEN')} -F file=@{shlex.quote(str(s.sample_file))} {gw}/api/v1/rebuild/file",
                upload,
                200,
            ),
            Step(
                "WebSocket echo through the gateway (auth at the handshake)",
                f"{py} -c '{_WS}' {gw.replace('http://', 'ws://')}/api/v1/ws \"$TOKEN\"",
                websocket,
                101,
            ),
        ]


def summary(body: str) -> str:
    """One line of a JSON answer for the ``--once`` output."""
    try:
        return orjson.dumps(orjson.loads(body)).decode()[:240]
    except orjson.JSONDecodeError:
        return body.replace("\n", " ")[:240]
