"""Check, then send, and the broadcast list, in headless Chromium (Playwright, Debian's
/usr/bin/chromium) at 1366 px and at a phone's 390 px: the app on a loopback port, real RQ
worker processes sending to the local fake AT, its delivery reports coming back. Compose,
press "Check, then send", read the confirm page (recipients, segments, cost, start in words),
send a test SMS to one's own phone (it reaches AT; nothing else does), confirm, then watch
the list's row reach "sent" with every message delivered without a reload, and its polling
stop. Without JavaScript the check and "Change the message" work the same. The screenshots go to tests/artifacts/; docs/img/confirm.png, which docs/staff.md
shows, is a copy of confirm-390.png (copy it again when the page changes)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from rq import Worker

from gateway import jobs
from gateway.staff.accounts import set_phone
from tests.broadcasting import add_subscribers, centre_id
from tests.conftest import PASSWORD, TOKEN
from tests.fake_at import FakeAT
from tests.live import serving
from tests.sms.test_sms_pipeline import at_env
from tests.workers import running_workers, wait_until

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
MESSAGE = "Home Affairs mobile unit at the centre on Thursday 09:00 to 15:00. Bring your ID book or card."
PHONES = [f"+2782700{i:04d}" for i in range(12)]
STAFF_PHONE = "+27715550123"
WIDE, NARROW = {"width": 1366, "height": 900}, {"width": 390, "height": 844}


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/staff/login")
    page.fill("#email", "admin@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def _check(page, base: str, soweto: int) -> None:
    page.goto(f"{base}/staff/broadcasts/new")
    page.select_option("#kind", "centre")
    page.select_option("#centres", str(soweto))
    page.fill("#message", MESSAGE)
    page.click("button[value=check]")


def _fits(page) -> bool:
    """No sideways scrolling of the page itself (a wide table scrolls inside its own box)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_check_then_send_and_watch_the_list_in_chromium(seeded, settings, auth, browser):
    assert CHROMIUM.exists(), "Debian chromium is required: make test installs it (apt-get install chromium)"
    from playwright.sync_api import expect

    soweto = centre_id(seeded, "Soweto")
    add_subscribers(seeded, PHONES, soweto)
    admin = auth.add("admin", email="admin@example.org")
    set_phone(seeded.sessions, admin.email, STAFF_PHONE)
    full = f"{seeded.settings.BROADCAST_PREFIX} {MESSAGE} Reply STOP to opt out"
    segments = 1 if len(full) <= 160 else math.ceil(len(full) / 153)
    cost = len(PHONES) * segments * seeded.settings.SMS_COST_PER_SEGMENT
    ARTIFACTS.mkdir(exist_ok=True)

    from gateway.web import create_app

    with serving(create_app(runtime=seeded)) as base, \
            FakeAT(dlr_url=f"{base}/webhooks/at/sms/delivery?token={TOKEN}") as fake:
        env = at_env(fake, SMS_RATE_PER_SECOND="20", SMS_BATCH_SIZE="5")
        with running_workers(settings, count=2, env=env):
            try:
                refused = []
                phone = browser.new_page(viewport=NARROW)
                phone.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
                _log_in(phone, base)
                _check(phone, base, soweto)
                expect(phone.get_by_test_id("question")).to_have_text(f"Send {len(PHONES)} text messages?")
                assert _fits(phone)
                phone.screenshot(path=str(ARTIFACTS / "confirm-390.png"), full_page=True)

                # Without JavaScript the same two steps work: plain forms, nothing stored until the confirm.
                bare = browser.new_context(viewport=NARROW, java_script_enabled=False).new_page()
                _log_in(bare, base)
                _check(bare, base, soweto)
                expect(bare.get_by_test_id("question")).to_have_text(f"Send {len(PHONES)} text messages?")
                bare.get_by_role("button", name="Change the message").click()
                expect(bare.locator("#message")).to_have_value(MESSAGE)
                bare.goto(f"{base}/staff/broadcasts/")
                expect(bare.get_by_text("No broadcasts yet.")).to_be_visible()

                page = browser.new_page(viewport=WIDE)
                page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
                _log_in(page, base)
                _check(page, base, soweto)
                expect(page.get_by_test_id("question")).to_have_text(f"Send {len(PHONES)} text messages?")
                assert page.get_by_test_id("confirm-recipients").inner_text() == str(len(PHONES))
                assert page.get_by_test_id("confirm-segments").inner_text() == str(segments)
                assert page.get_by_test_id("confirm-cost").inner_text() == f"R{cost:.2f}"
                assert page.get_by_test_id("confirm-text").inner_text() == full
                assert page.get_by_test_id("confirm-start").inner_text().startswith("Now (")
                assert page.get_by_test_id("confirm-start").inner_text().endswith(" SAST)")
                # No send job before the confirm: the bulk queue may hold only the workers' own
                # start-up housekeeping (the usage job each enqueues), still there on a fast run.
                waiting = [j.func_name for j in seeded.queue("bulk").jobs]
                assert set(waiting) <= {jobs.USAGE} and fake.accepted_counts() == {}, waiting

                wait_until(lambda: len(Worker.all(connection=seeded.redis)) == 2, timeout=20)
                page.get_by_test_id("test-sms").click()  # the exact text, to my phone only
                expect(page.locator("p.flash.info")).to_contain_text("Test SMS sent to your phone +2771****123")
                expect(page.get_by_test_id("question")).to_be_visible()  # the confirm page again
                wait_until(lambda: fake.sent_to(STAFF_PHONE) == 1, timeout=20)
                assert [text for _to, text, _sender in fake.accepted_messages()] == [full]

                page.get_by_test_id("confirm").click()
                expect(page.get_by_test_id("status")).to_be_visible()
                page.goto(f"{base}/staff/broadcasts/")
                page.evaluate("window.stayedOnThisPage = true")  # a reload would lose it
                [row_id] = page.locator("tr[data-row-url]").evaluate_all(
                    "rows => rows.map(r => r.dataset.testid.replace('row-', ''))")
                row = page.get_by_test_id(f"row-{row_id}")
                expect(row.get_by_test_id("status")).to_have_text("sent", timeout=30_000)
                expect(row.get_by_test_id("delivered")).to_have_text(str(len(PHONES)), timeout=30_000)
                expect(row.locator("td[data-poll]")).to_have_attribute("data-poll", "0", timeout=15_000)
                assert row.get_by_test_id("cancel").count() == 0  # nothing left to stop
                assert page.evaluate("window.stayedOnThisPage") is True
                page.screenshot(path=str(ARTIFACTS / "broadcast-list.png"), full_page=True)

                phone.goto(f"{base}/staff/broadcasts/")
                expect(phone.get_by_test_id(f"row-{row_id}").get_by_test_id("status")).to_have_text("sent")
                assert _fits(phone)
            finally:
                pass  # the browser fixture closes what the test opened
    assert not refused, refused
    assert set(fake.accepted_counts()) == set(PHONES) | {STAFF_PHONE}
    assert fake.sent_to(STAFF_PHONE) == 1  # the test, and no broadcast row for the staff phone
    for name in ("confirm-390", "broadcast-list"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 5000
