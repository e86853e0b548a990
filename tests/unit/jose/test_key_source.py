"""KeySource protocol, StaticKeys, and the URL/size/JSON rules shared by remote key sources."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from tests.support.jwks_server import ec_jwk

from authgate.errors import ConfigError
from authgate.jose.discovery import DiscoveredJWKS
from authgate.jose.fetch import (
    FetchError,
    Response,
    check_url,
    get_capped,
    is_loopback,
    json_object,
)
from authgate.jose.jwks import RemoteJWKS
from authgate.jose.key_source import KeySource, StaticKeys
from authgate.jose.keys import KeySet, VerificationKey


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_every_source_satisfies_the_protocol() -> None:
    static = StaticKeys(KeySet.from_jwks({"keys": [ec_jwk("a")]}), description="inline")
    remote = RemoteJWKS("https://idp.example.com/keys")
    discovered = DiscoveredJWKS("https://idp.example.com")
    assert all(isinstance(s, KeySource) for s in (static, remote, discovered))


@pytest.mark.anyio
async def test_static_keys_never_change() -> None:
    keys = KeySet.from_jwks({"keys": [ec_jwk("a"), ec_jwk("b")]})
    src = StaticKeys(keys, description="inline JWKS")
    assert src.current() is keys
    assert src.get("unknown") is keys  # nothing to refetch: the verifier says unknown_key
    assert await src.aget(None) is keys
    status = src.status()
    assert (status.source, status.loaded, status.kids) == ("inline JWKS", True, ("a", "b"))
    assert (status.age, status.expires_in, status.stale, status.fetches) == (None, None, False, 0)
    await src.aclose()
    assert src.get("a") is keys


def test_static_keys_refuse_an_empty_set() -> None:
    keys = KeySet.from_jwks({"keys": [{"kty": "EC", "kid": "x", "crv": "P-521"}]})
    with pytest.raises(ConfigError) as exc:
        StaticKeys(keys, description="issuers[a].jwks")
    assert exc.value.setting == "issuers[a].jwks"
    assert "no usable keys" in exc.value.detail
    assert "x:" in exc.value.detail  # the skipped key and why


def test_from_file_jwks(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [ec_jwk("file-key")]}))
    src = StaticKeys.from_file(path)
    assert src.get("file-key").kids == {"file-key"}
    assert str(path) in src.status().source


@pytest.mark.parametrize("curve_or_rsa", ["ec", "rsa"])
def test_from_file_pem(tmp_path: Path, curve_or_rsa: str) -> None:
    private = (
        ec.generate_private_key(ec.SECP256R1())
        if curve_or_rsa == "ec"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(private))
    key = StaticKeys.from_file(path).get(None).only_key()
    assert key is not None
    assert key.kty == ("EC" if curve_or_rsa == "ec" else "RSA")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b'{"keys": "nope"}', "not a JWKS"),
        (b'{"keys": [], "keys": []}', "duplicate"),
        (b"hello", "not a JWKS or PEM"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "private key"),
    ],
)
def test_from_file_refuses(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as exc:
        StaticKeys.from_file(path)
    assert why in exc.value.detail
    assert str(path) in exc.value.setting


def test_from_file_missing_or_huge(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        StaticKeys.from_file(tmp_path / "absent.json")
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (1024 * 1024 + 1))
    with pytest.raises(ConfigError, match="larger than"):
        StaticKeys.from_file(huge)


def test_hs_secret_source_has_no_kid() -> None:
    src = StaticKeys(KeySet((VerificationKey.from_secret(b"s" * 32),)), description="HS secret")
    assert src.get(None).only_key() is not None
    assert src.status().kids == ()


# -- shared fetch rules -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.255.0.9", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("LOCALHOST.", True), ("128.0.0.1", False), ("10.0.0.1", False),
     ("localhost.example.com", False), ("::ffff:8.8.8.8", False), ("0.0.0.0", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_check_url_names_the_setting() -> None:
    with pytest.raises(ConfigError) as exc:
        check_url(
            "http://idp.example.com/k", setting="issuers[x].jwks_uri", allow_insecure_http=False
        )
    assert exc.value.setting == "issuers[x].jwks_uri"
    assert check_url("http://idp/k", setting="s", allow_insecure_http=True) == "http://idp/k"
    with pytest.raises(ConfigError, match="fragment"):
        check_url("https://idp/k#x", setting="s", allow_insecure_http=False)


def _serve(status: int, body: bytes, headers: dict[str, str] | None = None) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=headers)

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_get_capped_refuses_redirects() -> None:
    client = _serve(302, b"", {"location": "http://evil.example/keys"})
    with client, pytest.raises(FetchError) as exc:
        get_capped(client, "https://idp/keys", time_limit=1, max_bytes=100)
    assert exc.value.status == 302
    assert "evil.example" in exc.value.reason


def test_get_capped_checks_declared_length_first() -> None:
    client = _serve(200, b"x" * 50, {"content-length": "5000"})
    with client, pytest.raises(FetchError, match="5000 bytes > limit of 100"):
        get_capped(client, "https://idp/keys", time_limit=1, max_bytes=100)


def test_json_object_strict() -> None:
    assert json_object(Response(httpx.Headers(), b'{"a": 1}')) == {"a": 1}
    with pytest.raises(FetchError, match="not a JSON document"):
        json_object(Response(httpx.Headers(), b'{"a": 1, "a": 2}'))
