"""A clerk's everyday tasks in headless Chromium at 1366 px and a phone's 390 px, each done
as a person would from the home page and checked where it lands (the directory citizens read,
the SMS the fake AT received), its clicks and seconds recorded for the staff guide
(tests/staff_tasks.py): change Saturday's hours; send a closure notice through the confirm
page, a test SMS to one's own phone first."""

from __future__ import annotations

import pytest
from rq import Worker

from gateway.staff import centres
from gateway.staff.accounts import set_phone
from tests.broadcasting import add_subscribers, centre_id
from tests.conftest import PASSWORD, TOKEN
from tests.fake_at import FakeAT
from tests.live import serving
from tests.sms.test_sms_pipeline import at_env
from tests.staff_tasks import WIDTHS, open_context, screenshot, task
from tests.workers import running_workers, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.staff_guide]
CLERK = "clerk@example.org"
CLERK_PHONE = "+27715550188"
SUBSCRIBERS = ["+27827100001", "+27827100002", "+27827100003"]
CLOSURE = "The centre is closed on Friday for staff training. We open again on Monday at 07:30."


def log_in(page, base: str) -> None:
    page.goto(f"{base}/staff/login")
    page.fill("#email", CLERK)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def fits(page) -> bool:
    """No sideways scrolling of the page itself (a wide table scrolls inside its own box)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_clerk_changes_saturday_hours(seeded, auth, browser, width):
    from playwright.sync_api import expect

    from gateway.web import create_app

    soweto = centre_id(seeded, "Soweto")
    clerk = auth.add("clerk", [soweto], email=CLERK)
    with serving(create_app(runtime=seeded)) as base:
        context = open_context(browser, width)
        page = context.new_page()
        log_in(page, base)
        with task(context, "clerk", "Change Saturday hours", width):
            page.get_by_role("navigation").get_by_role("link", name="Centres").click()
            page.get_by_role("row").filter(has_text="Soweto").get_by_role("link").first.click()  # the town
            page.get_by_label("Saturday").fill("08:00-12:00")
            page.get_by_role("button", name="Save").click()
            expect(page.locator("p.flash.info")).to_contain_text("Saturday hours")
        assert fits(page)
        screenshot(page, "centre-edit", width)
        context.close()
    record = centres.get_centre(seeded, clerk, soweto)
    assert "Sat 08:00-12:00" in record.hours_line, record.hours_line


@pytest.mark.parametrize("width", WIDTHS)
def test_a_clerk_sends_a_closure_notice_after_a_test_sms_to_their_phone(seeded, settings, auth, browser, width):
    from playwright.sync_api import expect

    from gateway.web import create_app

    soweto = centre_id(seeded, "Soweto")
    add_subscribers(seeded, SUBSCRIBERS, soweto)
    auth.add("clerk", [soweto], email=CLERK)
    set_phone(seeded.sessions, CLERK, CLERK_PHONE)
    full = f"{seeded.settings.BROADCAST_PREFIX} {CLOSURE} Reply STOP to opt out"
    with serving(create_app(runtime=seeded)) as base, \
            FakeAT(dlr_url=f"{base}/webhooks/at/sms/delivery?token={TOKEN}") as fake, \
            running_workers(settings, count=1, env=at_env(fake, SMS_RATE_PER_SECOND="20")):
        wait_until(lambda: len(Worker.all(connection=seeded.redis)) == 1, timeout=30)
        context = open_context(browser, width)
        page = context.new_page()
        log_in(page, base)
        with task(context, "clerk", "Send a closure notice, a test SMS first", width):
            page.get_by_role("navigation").get_by_role("link", name="Broadcasts").click()
            page.get_by_role("link", name="Compose a broadcast").click()
            page.get_by_role("group", name="Send to (your centres)").get_by_role("checkbox").first.check()
            page.fill("#message", CLOSURE)
            page.get_by_role("button", name="Check, then send").click()
            expect(page.get_by_test_id("question")).to_have_text(f"Send {len(SUBSCRIBERS)} text messages?")
            screenshot(page, "broadcast-confirm", width)
            page.get_by_test_id("test-sms").click()
            expect(page.locator("p.flash.info")).to_contain_text("Test SMS sent to your phone +2771****188")
            wait_until(lambda: fake.sent_to(CLERK_PHONE) == 1, timeout=30)
            assert fits(page)
            page.get_by_test_id("confirm").click()
            expect(page.get_by_test_id("status")).to_be_visible()
        wait_until(lambda: all(fake.sent_to(p) == 1 for p in SUBSCRIBERS), timeout=60)
        context.close()
    sent = fake.accepted_messages()
    assert sorted(to for to, _text, _sender in sent) == sorted([CLERK_PHONE, *SUBSCRIBERS])
    assert {text for _to, text, _sender in sent} == {full}  # the test was the exact text citizens got
