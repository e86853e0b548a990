"""The dev IdP's sign-in page in a real browser: authorization code + PKCE (RFC 6749 §4.1, RFC 7636).

Headless Chromium (the system package, driven by PyPI ``playwright``) opens ``/v1/authorize``,
signs in as a demo user and is redirected with a code to a loopback callback app (RFC 8252 §7.3:
any port). The test then redeems the code with the PKCE verifier and checks both tokens with
authgate's own :class:`TokenVerifier`, as an application would. A wrong password must leave the
browser on the sign-in page with the error shown and no redirect.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from tests.support.asgi_server import serve
from tests.support.idp_server import ServedIdP, running_idp

from authgate.jose.discovery import DiscoveredJWKS
from authgate.verifier import IssuerConfig, TokenVerifier

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SCOPES = "openid profile email api:read"
TIMEOUT_MS = 20_000


@dataclass
class Callback:
    """The relying party's redirect endpoint: remembers every query it was called with."""

    url: str
    calls: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def served() -> Iterator[ServedIdP]:
    with running_idp() as s:
        yield s


@pytest.fixture
def callback() -> Iterator[Callback]:
    seen: list[dict[str, str]] = []

    async def landing(request: Request) -> HTMLResponse:
        seen.append(dict(request.query_params))
        return HTMLResponse("<!doctype html><title>app</title><h1 id='done'>Signed in</h1>")

    with serve(Starlette(routes=[Route("/callback", landing)])) as app:
        yield Callback(f"{app.url}/callback", seen)


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install (never `playwright install`)")
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(served: ServedIdP, redirect_uri: str, challenge: str, state: str) -> str:
    client = served.idp.config.app("demo-spa")
    assert client is not None
    query = {"client_id": client.client_id, "response_type": "code", "scope": SCOPES,
             "redirect_uri": redirect_uri, "state": state, "nonce": f"nonce-{state}",
             "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
    return f"{served.endpoint('authorize')}?{urlencode(query)}"


def sign_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#sign-in")


def test_browser_signs_in_and_the_code_becomes_verifiable_tokens(
    served: ServedIdP, callback: Callback, browser: Browser, tmp_path: Path
) -> None:
    verifier, challenge = pkce_pair()
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(
        page, authorize_url(served, callback.url, challenge, "st-ok"), "alice", "Alice-DEV-only-1"
    )
    page.wait_for_url(f"{callback.url}?*")
    assert page.locator("#done").inner_text() == "Signed in"
    shot = tmp_path / "signed-in.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes().startswith(PNG_SIGNATURE)

    assert len(callback.calls) == 1
    redirect = callback.calls[0]
    assert redirect["state"] == "st-ok"
    client_id = served.idp.config.app("demo-spa").client_id  # type: ignore[union-attr]
    form = {"grant_type": "authorization_code", "code": redirect["code"], "client_id": client_id,
            "redirect_uri": callback.url, "code_verifier": verifier}  # fmt: skip
    answer = httpx.post(served.endpoint("token"), data=form, timeout=10)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"] == SCOPES

    issuer = served.issuer("default")
    alice = served.idp.config.user("alice@example.com")
    assert alice is not None
    keys = DiscoveredJWKS(issuer)  # one discovery + JWKS source shared by both verifiers
    api = TokenVerifier([IssuerConfig(issuer, keys, audiences=("api://default",))])
    oidc = TokenVerifier(
        [IssuerConfig(issuer, keys, audiences=(client_id,), accept_id_tokens=True)]
    )
    try:
        access = api.verify(tokens["access_token"])
        identity = oidc.verify(tokens["id_token"])
    finally:
        keys.close()
    assert access.subject == "alice@example.com"
    assert access.client_id == client_id
    assert "api:read" in access.scopes
    assert identity.subject == alice.id
    assert identity.claims["nonce"] == "nonce-st-ok"
    assert identity.claims["email"] == "alice@example.com"

    # The code was spent by the exchange: a replay is refused.
    replay = httpx.post(served.endpoint("token"), data=form, timeout=10)
    assert replay.json()["error"] == "invalid_grant"


def test_wrong_password_stays_on_the_page_with_the_error(
    served: ServedIdP, callback: Callback, browser: Browser, tmp_path: Path
) -> None:
    _, challenge = pkce_pair()
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    url = authorize_url(served, callback.url, challenge, "st-bad")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        sign_in(page, url, "alice", "not-her-password")
    assert posted.value.status == 401
    assert page.get_by_role("alert").inner_text() == "Unable to sign in."
    assert page.url.startswith(served.endpoint("authorize"))
    assert page.locator("input[name=password]").is_visible()
    shot = tmp_path / "refused.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(PNG_SIGNATURE)
    assert callback.calls == []
    # The right password from the same page still works: the error did not spoil the request.
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "Alice-DEV-only-1")
    page.click("#sign-in")
    page.wait_for_url(f"{callback.url}?*")
    assert [c["state"] for c in callback.calls] == ["st-bad"]
