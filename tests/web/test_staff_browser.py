"""The staff login in headless Chromium on a phone-sized screen with JavaScript switched off:
the pages must work without it, and the CSP must not block our own stylesheet."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def live_server(rt):
    from werkzeug.serving import make_server

    from gateway.web import create_app

    server = make_server("127.0.0.1", 0, create_app(runtime=rt), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.slow
def test_login_and_staff_list_without_javascript_on_a_phone(live_server, auth, browser):
    assert CHROMIUM.exists(), "Debian chromium is required: make test installs it (apt-get install chromium)"

    auth.add("admin", email="admin@example.org")
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(java_script_enabled=False, viewport={"width": 360, "height": 740})
    blocked = []
    page.goto(f"{live_server}/staff/accounts/")
    assert page.url.startswith(f"{live_server}/staff/login?next=")
    page.fill("#email", "admin@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    assert page.url == f"{live_server}/staff/accounts/"
    assert "admin@example.org" in page.inner_text("table")
    page.screenshot(path=str(ARTIFACTS / "staff-accounts-phone.png"), full_page=True)
    page.click("text=Log out")
    assert page.url.startswith(f"{live_server}/staff/login")
    # With scripts on, the console would show any CSP refusal; our stylesheet applies.
    styled = browser.new_page()
    styled.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    styled.goto(f"{live_server}/staff/login")
    colour = styled.eval_on_selector(".bar", "e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(11, 79, 108)"
    assert not blocked, blocked
