"""Discovery (RFC 8414 §3, OIDC Discovery §4) and DiscoveredJWKS against a real loopback server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from tests.support.jwks_server import JWKSServer, ec_jwk

from authgate.clock import ManualClock
from authgate.errors import AuthError, ConfigError, ErrorCode
from authgate.jose.discovery import DiscoveredJWKS, adiscover, discover, discovery_urls
from authgate.jose.jwks import JWKSOptions

OIDC = "/.well-known/openid-configuration"
OAUTH = "/.well-known/oauth-authorization-server"


@pytest.fixture
def srv() -> Iterator[JWKSServer]:
    with JWKSServer() as server:
        server.set_keys([ec_jwk("k1")])
        yield server


def metadata(srv: JWKSServer, issuer: str) -> dict[str, object]:
    return {
        "issuer": issuer,
        "jwks_uri": srv.jwks_url,
        "token_endpoint": issuer + "/v1/token",
        "introspection_endpoint": issuer + "/v1/introspect",
        "grant_types_supported": ["client_credentials"],
    }


def test_candidate_urls() -> None:
    assert discovery_urls("https://x.okta.com/oauth2/default") == (
        "https://x.okta.com/oauth2/default/.well-known/openid-configuration",
        "https://x.okta.com/.well-known/oauth-authorization-server/oauth2/default",
        "https://x.okta.com/oauth2/default/.well-known/oauth-authorization-server",
    )
    assert discovery_urls("https://x.okta.com/") == (  # OIDC §4.1: drop the trailing slash
        "https://x.okta.com/.well-known/openid-configuration",
        "https://x.okta.com/.well-known/oauth-authorization-server",
    )
    assert discovery_urls("https://x", "https://y/meta") == ("https://y/meta",)


def test_openid_configuration_first(srv: JWKSServer) -> None:
    srv.set_document(OIDC, metadata(srv, srv.url))
    srv.set_document(OAUTH, {"issuer": "https://must-not-be-read"})
    found = discover(srv.url)
    assert (found.issuer, found.jwks_uri) == (srv.url, srv.jwks_url)
    assert found.token_endpoint == srv.url + "/v1/token"
    assert found.introspection_endpoint == srv.url + "/v1/introspect"
    assert found.raw["grant_types_supported"] == ["client_credentials"]
    assert srv.received(OAUTH) == 0


def test_falls_back_to_rfc8414_path_inserted(srv: JWKSServer) -> None:
    issuer = srv.url + "/oauth2/default"
    srv.set_document(OAUTH + "/oauth2/default", metadata(srv, issuer))
    found = discover(issuer)
    assert found.issuer == issuer
    assert srv.received("/oauth2/default" + OIDC) == 1  # tried first, 404


def test_falls_back_to_legacy_appended_path(srv: JWKSServer) -> None:
    issuer = srv.url + "/oauth2/aus1"
    srv.set_document("/oauth2/aus1" + OAUTH, metadata(srv, issuer))
    assert discover(issuer).jwks_uri == srv.jwks_url
    assert srv.received(OAUTH + "/oauth2/aus1") == 1


def test_explicit_discovery_url(srv: JWKSServer) -> None:
    srv.set_document("/custom/meta.json", metadata(srv, "https://idp.example.com"))
    found = discover("https://idp.example.com", discovery_url=srv.url + "/custom/meta.json")
    assert found.issuer == "https://idp.example.com"
    assert srv.received(OIDC) == 0


def test_issuer_trailing_slash_mismatch(srv: JWKSServer) -> None:
    srv.set_document(OIDC, metadata(srv, srv.url))
    with pytest.raises(ConfigError) as exc:
        discover(srv.url + "/")
    message = exc.value.detail
    assert repr(srv.url + "/") in message
    assert repr(srv.url) in message
    assert "trailing slash" in message
    assert exc.value.setting == "issuer"


def test_issuer_org_vs_custom_mismatch(srv: JWKSServer) -> None:
    custom = srv.url + "/oauth2/default"
    srv.set_document("/oauth2/default" + OIDC, metadata(srv, srv.url))  # org AS issuer
    with pytest.raises(ConfigError) as exc:
        discover(custom)
    assert repr(custom) in exc.value.detail
    assert repr(srv.url) in exc.value.detail
    assert "custom" in exc.value.detail


def test_issuer_case_or_prefix_mismatch_refused(srv: JWKSServer) -> None:
    srv.set_document(OIDC, metadata(srv, srv.url.upper()))
    with pytest.raises(ConfigError, match="does not equal"):
        discover(srv.url)


def test_nothing_found_lists_every_attempt(srv: JWKSServer) -> None:
    with pytest.raises(AuthError) as exc:
        discover(srv.url + "/oauth2/x")
    assert exc.value.code is ErrorCode.JWKS_UNAVAILABLE
    assert exc.value.detail.count("HTTP 404") == 3
    assert len(discovery_urls(srv.url + "/oauth2/x")) == 3


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"jwks_uri": "x"}, 'no string "issuer"'),
        ({"issuer": "ISSUER"}, 'no "jwks_uri"'),
    ],
)
def test_incomplete_metadata(srv: JWKSServer, doc: dict[str, str], reason: str) -> None:
    srv.set_document(OIDC, {k: v.replace("ISSUER", srv.url) for k, v in doc.items()})
    with pytest.raises(AuthError) as exc:
        discover(srv.url, discovery_url=srv.url + OIDC)
    assert reason in exc.value.detail


def test_oversized_metadata(srv: JWKSServer) -> None:
    srv.set_document(OIDC, {**metadata(srv, srv.url), "pad": "x" * 10_000})
    with pytest.raises(AuthError) as exc:
        discover(srv.url, discovery_url=srv.url + OIDC, options=JWKSOptions(max_bytes=4096))
    assert "too large" in exc.value.detail


def test_insecure_urls_refused_before_any_request(srv: JWKSServer) -> None:
    with pytest.raises(ConfigError, match="TLS required"):
        discover("http://idp.example.com")
    with pytest.raises(ConfigError, match="must not have a query"):
        discover(srv.url + "?tenant=1")
    srv.set_document(OIDC, {**metadata(srv, srv.url), "jwks_uri": "http://idp.example.com/k"})
    with pytest.raises(ConfigError, match="TLS required"):
        discover(srv.url)  # a published plain-http jwks_uri is refused too


@pytest.mark.anyio
async def test_async_discovery(srv: JWKSServer) -> None:
    issuer = srv.url + "/oauth2/default"
    srv.set_document(OAUTH + "/oauth2/default", metadata(srv, issuer))
    found = await adiscover(issuer)
    assert found.jwks_uri == srv.jwks_url
    with pytest.raises(ConfigError, match="trailing slash"):
        await adiscover(issuer + "/", discovery_url=srv.url + OAUTH + "/oauth2/default")


# -- DiscoveredJWKS -----------------------------------------------------------------------------
def test_discovered_jwks_discovers_once_and_delegates(srv: JWKSServer) -> None:
    srv.set_document(OIDC, metadata(srv, srv.url))
    src = DiscoveredJWKS(srv.url, clock=ManualClock())
    assert src.current() is None
    assert src.get("k1").kids == {"k1"}
    assert src.get("k1").kids == {"k1"}
    assert (srv.received(OIDC), srv.fetch_count) == (1, 1)
    assert src.metadata is not None
    assert src.metadata.token_endpoint == srv.url + "/v1/token"
    status = src.status()
    assert srv.url in status.source
    assert srv.jwks_url in status.source
    assert (status.loaded, status.kids, status.fetches) == (True, ("k1",), 2)
    src.close()


def test_discovered_jwks_failure_paced_then_recovers(srv: JWKSServer) -> None:
    clock = ManualClock()
    srv.fail_with(503)
    src = DiscoveredJWKS(srv.url, clock=clock, options=JWKSOptions(cooldown=30))
    with pytest.raises(AuthError) as exc:
        src.get("k1")
    assert exc.value.status == 503
    assert "HTTP 503" in exc.value.detail
    with pytest.raises(AuthError) as again:
        src.get("k1")
    assert again.value.retry_after == 30
    assert srv.received(OIDC) == 1  # remembered, not retried inside the cooldown
    pending = src.status()
    assert (pending.loaded, pending.fetches, pending.failures) == (False, 1, 1)
    assert pending.last_error is not None
    assert "HTTP 503" in pending.last_error
    srv.fail_with(None)
    srv.set_document(OIDC, metadata(srv, srv.url))
    clock.advance(30)
    assert src.get("k1").kids == {"k1"}
    src.close()


def test_discovered_jwks_mismatch_is_503_not_500(srv: JWKSServer) -> None:
    srv.set_document(OIDC, metadata(srv, srv.url))
    src = DiscoveredJWKS(srv.url + "/", clock=ManualClock())
    with pytest.raises(AuthError) as exc:
        src.get("k1")
    assert exc.value.code is ErrorCode.JWKS_UNAVAILABLE
    assert exc.value.status == 503
    assert "trailing slash" in exc.value.detail


def test_discovered_jwks_refuses_insecure_issuer() -> None:
    with pytest.raises(ConfigError) as exc:
        DiscoveredJWKS("http://idp.example.com/oauth2/default")
    assert exc.value.setting == "issuer"


@pytest.mark.anyio
async def test_discovered_jwks_async_single_discovery(srv: JWKSServer) -> None:
    srv.set_document(OIDC, metadata(srv, srv.url))
    srv.delay = 0.1
    src = DiscoveredJWKS(srv.url, clock=ManualClock())
    results = await asyncio.gather(*(src.aget("k1") for _ in range(200)))
    assert all(r.kids == {"k1"} for r in results)
    assert (srv.received(OIDC), srv.fetch_count) == (1, 1)
    await src.aclose()
