"""Forward auth (``/authz`` and the nginx/Caddy/Traefik/Envoy shapes) over the ASGI app.

Each case asserts the status a proxy would see, the stable code (``X-Authgate-Code``) and the
identity headers on success. Trusted/untrusted peers are set through the ASGI ``client``.
"""

from __future__ import annotations

import httpx
import pytest
from tests.gateway.conftest import MakeGateway

from authgate.limits.base import LimitConfig

pytestmark = pytest.mark.anyio

TRUSTED = ("127.0.0.1", 50000)
STRANGER = ("203.0.113.9", 50000)


def client(app: object, peer: tuple[str, int] = TRUSTED) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=peer)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://authgate.local")


def nginx_headers(method: str, uri: str, token: str | None = None) -> dict[str, str]:
    headers = {"X-Original-Method": method, "X-Original-URI": uri, "X-Original-Host": "api.test"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def test_allowed_request_gets_200_and_identity_headers(make_gateway: MakeGateway) -> None:
    gw = make_gateway()
    async with client(gw.app) as http:
        r = await http.get("/authz", headers=nginx_headers("GET", "/api/v1/policies", gw.token()))
    assert r.status_code == 200
    assert r.headers["x-authgate-subject"] == "alice@example.com"
    assert r.headers["x-authgate-kind"] == "user"
    assert "api:read" in r.headers["x-authgate-scopes"].split(" ")
    assert r.headers["x-authgate-client-id"] == "0oa1b2c3d4e5f6g7h8i9"
    assert r.headers["x-authgate-token-id"].startswith("AT.")


async def test_missing_token_is_401_with_challenge(make_gateway: MakeGateway) -> None:
    gw = make_gateway()
    async with client(gw.app) as http:
        r = await http.get("/authz", headers=nginx_headers("GET", "/api/v1/policies"))
    assert r.status_code == 401
    assert r.headers["x-authgate-code"] == "auth.missing_token"
    assert r.headers["www-authenticate"].startswith('Bearer realm="authgate"')


async def test_role_missing_is_403_admin_role_missing(make_gateway: MakeGateway) -> None:
    gw = make_gateway()
    async with client(gw.app) as http:
        r = await http.get("/authz", headers=nginx_headers("POST", "/api/v1/policies", gw.token()))
    assert r.status_code == 403
    assert r.json()["code"] == "auth.role_missing"
    assert "Admin role missing" in r.json()["message"]
    admin = gw.token(roles=["Admin"])
    async with client(gw.app) as http:
        r = await http.get("/authz", headers=nginx_headers("POST", "/api/v1/policies", admin))
    assert r.status_code == 200


async def test_public_route_needs_no_token(make_gateway: MakeGateway) -> None:
    gw = make_gateway()
    async with client(gw.app) as http:
        r = await http.get("/authz", headers=nginx_headers("GET", "/api/v1/health"))
    assert r.status_code == 200
    assert r.headers["x-authgate-subject"] == ""  # always sent, empty without a caller


async def test_unmatched_route_is_default_deny(make_gateway: MakeGateway) -> None:
    gw = make_gateway()
    async with client(gw.app) as http:
        r = await http.get("/authz", headers=nginx_headers("GET", "/nowhere", gw.token()))
    assert r.status_code == 403
    assert r.headers["x-authgate-code"] == "auth.access_denied"


async def test_untrusted_peer_cannot_choose_the_original_uri(make_gateway: MakeGateway) -> None:
    gw = make_gateway()
    async with client(gw.app, STRANGER) as http:
        r = await http.get("/authz", headers=nginx_headers("GET", "/api/v1/health"))
        forwarded = await http.get(
            "/authz",
            headers={"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/api/v1/health"},
        )
    assert (r.status_code, r.headers["x-authgate-code"]) == (403, "auth.access_denied")
    assert forwarded.status_code == 403


async def test_caddy_and_traefik_x_forwarded_headers(make_gateway: MakeGateway) -> None:
    gw = make_gateway()
    headers = {
        "X-Forwarded-Method": "GET",
        "X-Forwarded-Uri": "/api/v1/policies?page=2",
        "X-Forwarded-Host": "api.test",
        "X-Forwarded-Proto": "https",
        "Authorization": f"Bearer {gw.token()}",
    }
    async with client(gw.app) as http:
        caddy = await http.get("/authz/caddy", headers=headers)
        traefik = await http.get("/authz/traefik", headers=headers)
    assert caddy.status_code == traefik.status_code == 200


async def test_envoy_prefix_carries_the_original_path_and_method(make_gateway: MakeGateway) -> None:
    gw = make_gateway()
    auth = {"Authorization": f"Bearer {gw.token()}"}
    async with client(gw.app) as http:
        ok = await http.get("/authz/envoy/api/v1/policies", headers=auth)
        denied = await http.post("/authz/envoy/api/v1/policies", headers=auth)
    assert ok.status_code == 200
    assert (denied.status_code, denied.headers["x-authgate-code"]) == (403, "auth.role_missing")


@pytest.mark.parametrize(
    "uri",
    ["/api/v1/health/../policies", "/api/v1/%2e%2e/x", "/api/v1//policies", "/api%2Fv1/policies"],
)
async def test_ambiguous_paths_are_refused(make_gateway: MakeGateway, uri: str) -> None:
    gw = make_gateway()
    async with client(gw.app) as http:
        r = await http.get("/authz", headers=nginx_headers("GET", uri, gw.token()))
    assert (r.status_code, r.headers["x-authgate-code"]) == (403, "auth.access_denied")


async def test_percent_encoded_path_matches_its_decoded_rule(make_gateway: MakeGateway) -> None:
    gw = make_gateway()
    async with client(gw.app) as http:
        r = await http.get("/authz", headers=nginx_headers("GET", "/api/v1/%70olicies", gw.token()))
    assert r.status_code == 200


async def test_bad_request_becomes_401_never_400(make_gateway: MakeGateway) -> None:
    gw = make_gateway()
    async with client(gw.app) as http:
        headers = [
            ("X-Original-Method", "GET"),
            ("X-Original-URI", "/api/v1/policies"),
            ("Authorization", f"Bearer {gw.token()}"),
            ("Authorization", f"Bearer {gw.token()}"),
        ]
        r = await http.get("/authz", headers=headers)
    assert r.status_code == 401
    assert r.headers["x-authgate-status"] == "400"
    assert r.headers["x-authgate-code"] == "auth.invalid_request"


async def test_duplicate_forwarding_header_is_refused(make_gateway: MakeGateway) -> None:
    gw = make_gateway()
    async with client(gw.app) as http:
        headers = [("X-Original-URI", "/api/v1/health"), ("X-Original-URI", "/admin")]
        r = await http.get("/authz", headers=headers)
    assert r.status_code == 401
    assert r.headers["x-authgate-code"] == "auth.invalid_request"


async def test_rate_limit_is_429_generic_and_403_for_nginx(make_gateway: MakeGateway) -> None:
    gw = make_gateway(limiter=LimitConfig(ip_limit=2, identity_limit=0, interval=60))
    bad = nginx_headers("GET", "/api/v1/policies", "not.a.jwt")
    async with client(gw.app) as http:
        for _ in range(2):
            assert (await http.get("/authz", headers=bad)).status_code == 401
        generic = await http.get("/authz", headers=bad)
        nginx = await http.get("/authz/nginx", headers=bad)
    assert generic.status_code == 429
    assert int(generic.headers["retry-after"]) == 60
    assert nginx.status_code == 403
    assert nginx.headers["x-authgate-status"] == "429"
    assert nginx.headers["x-authgate-code"] == "auth.rate_limited.ip"
    assert int(nginx.headers["retry-after"]) == 60
