"""A broadcast from the dashboard in headless Chromium (Playwright, Debian's /usr/bin/chromium),
end to end: the app on a loopback port, real RQ worker processes sending to the local fake AT,
its delivery reports coming back to the app. Log in, compose to one centre, check the live
preview against an independent SQL count and the segment arithmetic, type a send time in parts
(refused when past, said in words when later), check and confirm a send now, watch the bar reach
100 % without a reload, read the delivery summary, open the audit log. The screenshots the
README shows are written to tests/artifacts/."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rq import Worker
from sqlalchemy import text

from gateway.clock import SAST
from tests.broadcasting import add_subscribers, centre_id
from tests.conftest import PASSWORD, TOKEN
from tests.fake_at import FakeAT
from tests.live import serving
from tests.sms.test_sms_pipeline import at_env
from tests.workers import running_workers, wait_until

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# Plain GSM-7 (no extension characters), long enough for two segments with the prefix and
# the opt-out line: 9 + 152 + 22 = 183 characters.
MESSAGE = ("Home Affairs mobile unit at the centre on Tuesday 09:00 to 15:00. Bring your ID book "
           "or card, proof of address and two photos for passport applications.")
SOWETO_PHONES = [f"+2782600{i:04d}" for i in range(40)]
BAD_NUMBER = SOWETO_PHONES[7]  # AT answers 403 InvalidPhoneNumber for this one
# (not 405: out of credit pauses all bulk until a probe finds credit, tests/sms/test_credit.py)

RECIPIENTS_SQL = text("""
    SELECT COUNT(DISTINCT c.phone) FROM citizens c JOIN subscriptions s ON s.citizen_id = c.id
    WHERE s.centre_id = :centre AND s.ended_at IS NULL AND c.opted_out = :no
""")


def test_compose_send_and_watch_a_broadcast_in_chromium(seeded, settings, auth, browser):
    assert CHROMIUM.exists(), "Debian chromium is required: make test installs it (apt-get install chromium)"
    from playwright.sync_api import expect

    soweto, worcester = centre_id(seeded, "Soweto"), centre_id(seeded, "Worcester")
    add_subscribers(seeded, SOWETO_PHONES, soweto)
    add_subscribers(seeded, ["+27826100001", "+27826100002"], soweto, opted_out=True)
    add_subscribers(seeded, [f"+2782620{i:04d}" for i in range(10)], worcester)
    with seeded.sessions() as s:
        expected_recipients = s.scalar(RECIPIENTS_SQL, {"centre": soweto, "no": False})
    full = f"{seeded.settings.BROADCAST_PREFIX} {MESSAGE} Reply STOP to opt out"
    expected_segments = 1 if len(full) <= 160 else math.ceil(len(full) / 153)
    assert (expected_recipients, expected_segments) == (40, 2)
    auth.add("admin", email="admin@example.org")
    ARTIFACTS.mkdir(exist_ok=True)

    from gateway.web import create_app

    with serving(create_app(runtime=seeded)) as base, \
            FakeAT(dlr_url=f"{base}/webhooks/at/sms/delivery?token={TOKEN}") as fake:
        fake.status_for[BAD_NUMBER] = 403
        # 80 segments at 20 a second, 5 to a request: about 4 s of sending to watch.
        env = at_env(fake, SMS_RATE_PER_SECOND="20", SMS_BATCH_SIZE="5")
        with running_workers(settings, count=2, env=env):
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            refused = []
            page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(f"{base}/staff/login")
            page.fill("#email", "admin@example.org")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page.get_by_role("heading", name="Hello, Admin")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

            page.click("text=Compose a broadcast")
            page.select_option("#kind", "centre")
            page.select_option("#centres", str(soweto))
            page.fill("#message", MESSAGE)  # no button pressed: the preview follows the typing
            preview = page.get_by_test_id("preview")
            expect(page.get_by_test_id("recipients")).to_have_text(str(expected_recipients))
            assert page.get_by_test_id("segments").inner_text() == str(expected_segments)
            assert page.get_by_test_id("characters").inner_text() == str(len(full))
            assert page.get_by_test_id("encoding").inner_text() == "GSM-7"
            cost = expected_recipients * expected_segments * seeded.settings.SMS_COST_PER_SEGMENT
            assert page.get_by_test_id("cost").inner_text() == f"R{cost:.2f}"
            assert full in preview.inner_text()
            page.screenshot(path=str(ARTIFACTS / "compose.png"), full_page=True)

            # "Send at": day, month by name, year and time, read the same by an English (US)
            # browser; a time already past is refused in the preview, a later one said in words.
            page.check("input[name=when][value=at]")
            last_year = datetime.now(SAST).year - 1
            page.select_option("#at-day", "10")
            page.select_option("#at-month", label="December")
            page.fill("#at-year", str(last_year))
            page.fill("#at-time", "09:00")
            expect(page.get_by_test_id("preview-error")).to_contain_text(
                f"the send time {datetime(last_year, 12, 10):%a} 10 Dec {last_year} 09:00 has already passed")
            tomorrow = datetime.now(SAST).date() + timedelta(days=1)
            page.select_option("#at-day", str(tomorrow.day))
            page.select_option("#at-month", str(tomorrow.month))
            page.fill("#at-year", str(tomorrow.year))
            expect(page.get_by_test_id("asked")).to_have_text(
                f"{tomorrow:%a} {tomorrow.day} {tomorrow:%b} {tomorrow.year} 09:00 (South African time)")
            page.check("input[name=when][value=now]")
            expect(page.get_by_test_id("start")).to_have_text("starts now")

            wait_until(lambda: len(Worker.all(connection=seeded.redis)) == 2, timeout=20)
            page.click("button[value=check]")  # nothing goes before the confirm page's button
            expect(page.get_by_test_id("question")).to_have_text(f"Send {expected_recipients} text messages?")
            page.get_by_test_id("confirm").click()
            expect(page.get_by_test_id("status")).to_be_visible()
            page.evaluate("window.stayedOnThisPage = true")  # a reload would lose it
            expect(page.get_by_test_id("status")).to_have_text("sending", timeout=20_000)
            shown = int(page.get_by_test_id("percent").inner_text().rstrip(" %"))
            page.screenshot(path=str(ARTIFACTS / "broadcast-progress.png"), full_page=True)
            assert shown < 100, "sent before the page could watch it"

            summary = page.get_by_test_id("summary")
            expect(summary).to_be_visible(timeout=30_000)
            assert page.evaluate("window.stayedOnThisPage") is True
            assert page.eval_on_selector("progress", "p => p.value") == 100
            assert page.get_by_test_id("percent").inner_text() == "100 %"
            assert page.get_by_test_id("failed").inner_text() == "1"
            assert "The number is not a valid phone number." in summary.inner_text()
            expect(page.get_by_test_id("delivered")).not_to_have_text("0", timeout=10_000)

            page.goto(f"{base}/staff/audit?action=broadcast")
            log = page.locator("table").inner_text()
            assert "broadcast.created" in log and "broadcast.sent" in log
            page.goto(f"{base}/staff/audit")
            page.screenshot(path=str(ARTIFACTS / "audit.png"), full_page=True)
    assert not refused, refused
    assert set(fake.accepted_counts()) == set(SOWETO_PHONES) - {BAD_NUMBER}
    for name in ("dashboard", "compose", "broadcast-progress", "audit"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 5000
