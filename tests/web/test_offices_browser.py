"""A clerk on a phone (390 px wide, touch, JavaScript off) sets Home Affairs DOWN with the
reason "system offline" in two taps on the Offices today page, and the page shows it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.dialogue.office_status import current
from gateway.staff import audit
from gateway.staff.centre_offices import set_offices
from gateway.store.models import Centre
from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def live_server(seeded):
    from werkzeug.serving import make_server

    from gateway.web import create_app

    server = make_server("127.0.0.1", 0, create_app(runtime=seeded), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.slow
def test_a_clerk_sets_home_affairs_down_in_two_taps_on_a_phone(seeded, live_server, auth, browser):
    assert CHROMIUM.exists(), "Debian chromium is required: make test installs it (apt-get install chromium)"

    with seeded.sessions() as s:
        centre = s.scalar(select(Centre.id).order_by(Centre.id))
    set_offices(seeded, audit.CLI, centre, ["HA", "SASSA", "POST"])
    auth.add("clerk", [centre], email="clerk@example.org")
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844},
                                  has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server}/staff/login")
    page.fill("#email", "clerk@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.click("text=Offices today")
    assert page.url == f"{live_server}/staff/centres/{centre}/offices"
    office = page.get_by_test_id("office-HA")
    assert "no news" in office.get_by_test_id("now-HA").inner_text()
    # The two taps: the reason, then Down — both within the screen's width.
    reason = office.get_by_text("system offline")
    down = office.get_by_role("button", name="Down")
    for control in (reason, down):
        box = control.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    reason.tap()
    with page.expect_navigation():
        down.tap()
    now = page.get_by_test_id("now-HA").inner_text()
    assert "Home Affairs: DOWN – system offline" in now and "until midnight" in now
    assert "Home Affairs: DOWN – system offline, until midnight." in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    page.screenshot(path=str(ARTIFACTS / "staff-offices-today-phone.png"), full_page=True)
    assert [(s.office, s.state, s.reason, s.via) for s in current(seeded)] == [("HA", "down", "offline", "dashboard")]
