"""Doctor against the dev IdP configured (or reached) wrongly: discovery, issuer, JWKS, clock."""

from __future__ import annotations

from pathlib import Path

from tests.doctor.conftest import doctor, make_ctx, one
from tests.support.idp_server import ServedIdP

from authgate.doctor import Status


def test_healthy_setup_passes_with_exit_0(idp: ServedIdP, tmp_path: Path) -> None:
    report = doctor(make_ctx(idp, tmp_path))
    assert report.exit_code == 0, [r.line() for r in report.results]
    for check in ("discovery", "issuer", "jwks [", "jwks cache", "clock skew"):
        assert one(report, check).status is Status.PASS
    assert "verify RS256" in one(report, "jwks [").reason


def test_discovery_unreachable(idp: ServedIdP, tmp_path: Path) -> None:
    report = doctor(make_ctx(idp, tmp_path, issuer=idp.url + "/oauth2/nope"))
    found = one(report, "discovery")
    assert found.status is Status.FAIL
    assert found.code == "auth.jwks_unavailable"
    assert "HTTP 404" in found.reason
    assert "issuer URL" in found.fix
    assert report.exit_code == 2


def test_discovery_unreachable_with_explicit_jwks_uri_only_warns(
    idp: ServedIdP, tmp_path: Path
) -> None:
    ctx = make_ctx(idp, tmp_path, issuer=idp.url + "/oauth2/nope", jwks_uri=idp.endpoint("keys"))
    report = doctor(ctx)
    assert one(report, "discovery").status is Status.WARN
    assert one(report, "jwks [").status is Status.PASS


def test_trailing_slash_issuer(idp: ServedIdP, tmp_path: Path) -> None:
    report = doctor(make_ctx(idp, tmp_path, issuer=idp.issuer() + "/"))
    found = one(report, "issuer")
    assert found.status is Status.FAIL
    assert found.code == "auth.invalid_issuer"
    assert "trailing slash" in found.reason
    assert repr(idp.issuer()) in found.fix


def test_org_issuer_against_custom_server_metadata(idp: ServedIdP, tmp_path: Path) -> None:
    discovery = idp.issuer() + "/.well-known/openid-configuration"
    report = doctor(make_ctx(idp, tmp_path, issuer=idp.url, discovery_url=discovery))
    found = one(report, "issuer")
    assert found.status is Status.FAIL
    assert "org authorization server" in found.reason


def test_jwks_unreachable(idp: ServedIdP, tmp_path: Path) -> None:
    idp.idp.faults.add("/oauth2/default/v1/keys", status=503)
    report = doctor(make_ctx(idp, tmp_path))
    found = one(report, "jwks [")
    assert found.status is Status.FAIL
    assert found.code == "auth.jwks_unavailable"
    assert "HTTP 503" in found.reason


def test_jwks_keys_unusable_with_allowed_algorithms(idp: ServedIdP, tmp_path: Path) -> None:
    report = doctor(make_ctx(idp, tmp_path, algorithms=["ES256"]))
    found = one(report, "jwks [")
    assert found.status is Status.FAIL
    assert found.code == "auth.unsupported_algorithm"
    assert "ES256" in found.reason
    assert "RSA" in found.reason


def test_jwks_without_cache_headers_warns(idp: ServedIdP, tmp_path: Path) -> None:
    jwks = idp.idp.server("default").keys.jwks()
    idp.idp.faults.add("/oauth2/default/v1/keys", status=200, body=jwks)
    report = doctor(make_ctx(idp, tmp_path, jwks_cache_ttl=120))
    found = one(report, "jwks cache")
    assert found.status is Status.WARN
    assert "120 s" in found.reason
    assert report.exit_code == 1


def test_jwks_no_store_warns(idp: ServedIdP, tmp_path: Path) -> None:
    jwks = idp.idp.server("default").keys.jwks()
    headers = {"Cache-Control": "no-store"}
    idp.idp.faults.add("/oauth2/default/v1/keys", status=200, body=jwks, headers=headers)
    found = one(doctor(make_ctx(idp, tmp_path)), "jwks cache")
    assert found.status is Status.WARN
    assert "no-store" in found.reason


def test_clock_skew_beyond_leeway_fails(idp: ServedIdP, tmp_path: Path) -> None:
    idp.idp.clock.skew = 300.0  # the IdP runs five minutes ahead
    found = one(doctor(make_ctx(idp, tmp_path)), "clock skew")
    assert found.status is Status.FAIL
    assert found.code == "auth.token_not_yet_valid"
    assert "behind the IdP" in found.reason
    assert "NTP" in found.fix
    assert 295 <= -found.details["skew_seconds"] <= 302


def test_clock_skew_within_leeway_warns(idp: ServedIdP, tmp_path: Path) -> None:
    idp.idp.clock.skew = -30.0
    found = one(doctor(make_ctx(idp, tmp_path)), "clock skew")
    assert found.status is Status.WARN
    assert "ahead of the IdP" in found.reason


def test_static_jwks_file_checked_without_network(tmp_path: Path, idp: ServedIdP) -> None:
    import orjson

    file = tmp_path / "jwks.json"
    file.write_bytes(orjson.dumps(idp.idp.server("default").keys.jwks()))
    report = doctor(make_ctx(idp, tmp_path, jwks_file=file, algorithms=["RS256", "ES256"]))
    assert one(report, "discovery").status is Status.SKIP
    found = one(report, "jwks [")
    assert found.status is Status.WARN
    assert "no key for ES256" in found.reason


def test_unreadable_static_key_file(tmp_path: Path, idp: ServedIdP) -> None:
    file = tmp_path / "keys.json"
    file.write_text('{"keys": "no"}')
    found = one(doctor(make_ctx(idp, tmp_path, jwks_file=file)), "jwks [")
    assert found.status is Status.FAIL
    assert "static keys unusable" in found.reason
