"""The gateway admin dashboard in headless Chromium (system package): login, pills, denials.

Runs the whole demo stack (dev IdP, sample API, gateway) on free loopback ports, logs in with the
DEV-ONLY admin token, and checks what an operator relies on: the three status pills, recent
denials listed with their codes, the IdP pill turning red when the dev IdP stops serving its JWKS
(fault injection) and green again once it recovers — every wait is Playwright's bounded wait
on a real selector, never a sleep — and a wrong token refused at the login form.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from authgate.demo.stack import DemoStack
from authgate.gateway.admin.login import COOKIE

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIMEOUT_MS = 20_000


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DemoStack]:
    demo = DemoStack(tmp_path / "demo", base_port=0)
    demo.start()
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def _login(page: Page, stack: DemoStack, token: str) -> None:
    page.goto(stack.gateway_url + "/__authgate/")
    page.wait_for_url("**/__authgate/login", timeout=TIMEOUT_MS)
    page.fill("#token", token)
    page.click("#login")


def test_dashboard_pills_denials_and_idp_failure(
    stack: DemoStack, browser: Browser, tmp_path: Path
) -> None:
    with httpx.Client(base_url=stack.gateway_url) as http:
        assert http.get("/api/v1/policies").status_code == 401
        bogus = http.get("/api/v1/policies", headers={"Authorization": "Bearer not-a-jwt"})
        assert bogus.status_code == 401
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _login(page, stack, stack.bootstrap_token)
    page.wait_for_url("**/__authgate/")
    idp = page.wait_for_selector("#pill-0[data-state=ok]")
    assert idp is not None
    assert idp.text_content() == "IdP healthy"
    assert page.text_content("#pill-1") is not None
    assert page.text_content("#pill-2") == "Healthy"
    page.wait_for_selector("#denials td:text-is('auth.missing_token')")
    codes = page.locator("#denials tr.row td:nth-child(2)").all_text_contents()
    assert "auth.missing_token" in codes
    assert len(codes) >= 2
    assert page.locator("#policy td:text-is('policies-write')").count() == 1
    cookie = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert stack.bootstrap_token not in cookie["value"]

    stack.idp.faults.add("/oauth2/default/v1/keys", status=503, count=1_000_000)
    down = page.wait_for_selector("#pill-0[data-state=bad]")
    assert down is not None
    assert down.text_content() == "IdP unreachable"
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(PNG_SIGNATURE)

    stack.idp.faults.clear()
    page.wait_for_selector("#pill-0[data-state=ok]")


def test_wrong_token_is_refused_at_login(stack: DemoStack, browser: Browser) -> None:
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _login(page, stack, "agb_" + "x" * 43)
    error = page.wait_for_selector("#login-error")
    assert error is not None
    assert (error.text_content() or "").startswith("Login refused")
    assert page.url.endswith("/__authgate/login")
    assert not [c for c in page.context.cookies() if c["name"] == COOKIE]
    page.goto(stack.gateway_url + "/__authgate/")
    page.wait_for_url("**/__authgate/login")


def test_status_json_needs_an_admin_scope(stack: DemoStack) -> None:
    """A valid non-admin token is refused; the admin token reads the document (no browser)."""
    app = stack.idp.app("demo-admin")
    assert app is not None
    token = httpx.post(
        f"{stack.issuer}/v1/token",
        data={"grant_type": "client_credentials", "scope": "api:read"},
        auth=(app.client_id, app.client_secret or ""),
    ).json()["access_token"]
    with httpx.Client(base_url=stack.gateway_url) as http:
        user = http.get("/__authgate/status.json", headers={"Authorization": f"Bearer {token}"})
        assert user.status_code == 401
        admin = {"Authorization": f"Bearer {stack.bootstrap_token}"}
        ok = http.get("/__authgate/status.json", headers=admin)
        assert ok.status_code == 200
        assert next(p["label"] for p in ok.json()["pills"]) == "IdP healthy"
        cross = http.post(
            "/__authgate/login",
            data={"token": stack.bootstrap_token},
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        assert COOKIE not in cross.cookies
