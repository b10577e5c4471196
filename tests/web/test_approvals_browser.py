"""The approvals inbox and the message log in headless Chromium (Debian's /usr/bin/chromium),
on a desktop (1366 px) and a phone (390 px): an approver finds everything waiting from the
home page, opens a broadcast from the inbox and rejects it on its own page; its author sees
the rejection on their home page. A clerk types a number in its local form and reads its
messages, then the older page. Neither page scrolls sideways on the phone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.staff import visits
from tests.approving import broadcast_by, cancel_request_by, change_by, make_office, visit_by
from tests.conftest import PASSWORD
from tests.live import serving
from tests.staff_tasks import WIDTHS, open_context, screenshot, task
from tests.web.test_message_log import AT, SUBSCRIBER, message

pytestmark = [pytest.mark.slow, pytest.mark.staff_guide]


@pytest.fixture
def office(seeded, auth, monkeypatch):
    return make_office(seeded, auth, monkeypatch)


@pytest.fixture
def live_server(seeded, office):
    from gateway.web import create_app

    with serving(create_app(runtime=seeded)) as base:
        yield base


def open_page(browser, width: int):
    context = open_context(browser, width)
    return context, context.new_page()


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/staff/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_an_approver_finds_what_waits_approves_one_rejects_one_and_its_author_sees_why(office, live_server, browser,
                                                                                      width):
    from playwright.sync_api import expect

    o = office
    broadcast = broadcast_by(o, o.clerk, o.soweto, "Home Affairs mobile unit on Tuesday 09:00")
    visit = visit_by(o, o.clerk, o.soweto)
    change_by(o, o.clerk, o.soweto)
    cancel_request_by(o, o.clerk, o.soweto)
    broadcast_by(o, o.other_clerk, o.worcester, "Worcester only")  # not this approver's centre
    context, page = open_page(browser, width)
    log_in(page, live_server, o.approver.email)
    expect(page.get_by_test_id("approvals-waiting")).to_have_text("4")
    with task(context, "approver", "Find what waits, approve one, reject one with a reason", width):
        page.get_by_test_id("approvals-home").get_by_role("link", name="Approvals").click()
        expect(page.get_by_test_id("for-me-count")).to_have_text("4")
        assert page.get_by_test_id("for-me-item").count() == 4
        assert "Worcester only" not in page.inner_text("main")
        no_sideways_scroll(page, width)
        screenshot(page, "approvals", width)
        page.get_by_test_id("for-me-item").filter(has_text="SASSA").get_by_role("link").first.click()
        assert page.url == f"{live_server}/staff/visits/{visit}"
        page.get_by_role("button", name="Approve and announce").click()
        expect(page.locator("p.flash.info")).to_be_visible()
        page.get_by_role("navigation").get_by_role("link", name="Approvals").click()
        expect(page.get_by_test_id("for-me-count")).to_have_text("3")
        page.get_by_test_id("for-me-item").filter(has_text="Home Affairs mobile unit").get_by_role("link").click()
        assert page.url == f"{live_server}/staff/broadcasts/{broadcast}"
        page.fill("#reason", "Wrong day: the unit comes on Wednesday")
        page.get_by_role("button", name="Reject").click()
        expect(page.get_by_test_id("rejection")).to_contain_text("Wrong day")
    context.close()
    assert visits.get(o.rt, visit).status == "approved"

    context, page = open_page(browser, width)
    log_in(page, live_server, o.clerk.email)
    decided = page.get_by_test_id("decided-item")
    expect(decided).to_have_count(2)
    said = page.get_by_test_id("decided").inner_text()
    assert f"Broadcast {broadcast} rejected by approver@example.org" in said
    assert "Wrong day: the unit comes on Wednesday" in said
    expect(page.get_by_test_id("approvals-mine")).to_have_text("2")
    no_sideways_scroll(page, width)
    screenshot(page, "home-decided", width)
    page.reload()
    expect(page.get_by_test_id("decided-none")).to_be_visible()  # seen once
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_clerk_reads_the_message_log_of_a_number_page_by_page(office, live_server, browser, width):
    from playwright.sync_api import expect

    from tests.broadcasting import add_subscribers

    o = office
    add_subscribers(o.rt, [SUBSCRIBER], o.soweto)
    message(o.rt, SUBSCRIBER, "in", "CENTRE Soweto", "processed")
    message(o.rt, SUBSCRIBER, "out", "Home Affairs on Tuesday", "failed", AT + timedelta(minutes=5),
            reason="UserInBlackList")
    for i in range(50):
        message(o.rt, SUBSCRIBER, "out", f"Notice {i:02d}", "delivered", AT + timedelta(days=1, minutes=i))
    context, page = open_page(browser, width)
    log_in(page, live_server, o.clerk.email)
    with task(context, "clerk", "Find a citizen's messages by number", width):
        page.get_by_role("link", name="Message log").first.click()
        page.fill("#number", "082 111 0001")
        page.get_by_role("button", name="Show messages").click()
        expect(page.get_by_test_id("number")).to_have_text("+2782****001")
    expect(page.get_by_test_id("total")).to_contain_text("52 messages, page 1 of 2")
    assert page.get_by_test_id("message").count() == 50
    assert "0821110001" not in page.url and "821110001" not in page.content()
    no_sideways_scroll(page, width)
    screenshot(page, "message-log", width)
    page.get_by_test_id("older").click()
    rows = page.get_by_test_id("message")
    expect(rows).to_have_count(2)
    first = rows.first.inner_text()
    assert "Mon 7 Dec 2026 10:05" in first and "Sent" in first and "not delivered" in first
    assert "The person has blocked bulk messages with their network." in first
    assert "Mon 7 Dec 2026 10:00" in rows.last.inner_text() and "Received" in rows.last.inner_text()
    no_sideways_scroll(page, width)
    context.close()
