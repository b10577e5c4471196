"""The web simulator in headless Chromium (Playwright + Debian's /usr/bin/chromium): dial, press
keys, read the screen, see the "SMS me" message arrive in the inbox. Saves a screenshot."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def live_server(seeded):
    from werkzeug.serving import make_server

    from gateway.web import create_app

    app = create_app(runtime=seeded)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _option(screen: str, word: str) -> str:
    """The key of the menu line mentioning ``word`` ("3. SMS me" → "3")."""
    for line in screen.splitlines():
        m = re.match(r"\s*(\d+)[.)]\s*(.*)", line)
        if m and word.lower() in m.group(2).lower():
            return m.group(1)
    raise AssertionError(f"no option with {word!r} on screen:\n{screen}")


@pytest.mark.slow
def test_dial_press_keys_and_receive_sms_in_inbox(live_server, seeded, settings, browser):
    assert CHROMIUM.exists(), "Debian chromium is required: make test installs it (apt-get install chromium)"
    from playwright.sync_api import expect

    from tests.workers import running_workers

    ARTIFACTS.mkdir(exist_ok=True)
    with running_workers(settings):
        page = browser.new_page()
        refused = []  # the CSP allows no inline script: the page's own must come from a file
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{live_server}/simulator/")
        assert "token" not in page.content().lower()
        screen = page.get_by_test_id("screen")
        page.get_by_test_id("dial").click()
        expect(screen).not_to_have_text(re.compile(r"^Dial "))

        def enter(value: str) -> str:
            before = screen.inner_text()
            page.get_by_test_id("entry").fill(value)
            page.get_by_test_id("send").click()
            expect(screen).not_to_have_text(before)
            return screen.inner_text()

        first = screen.inner_text()
        text = enter(_option(first, "near") if "near" in first.lower() else "1")
        text = enter("Soweto")
        assert "Maponya" in text
        text = enter(_option(text, "Maponya"))
        text = enter(_option(text, "SMS"))
        assert "SMS" in text
        inbox = page.get_by_test_id("inbox")
        expect(inbox).to_contain_text("Maponya", timeout=20_000)
        page.screenshot(path=str(ARTIFACTS / "simulator.png"), full_page=True)
        assert not refused, refused
    assert (ARTIFACTS / "simulator.png").stat().st_size > 1000
