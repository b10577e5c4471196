"""A clerk answers a citizen's question from a phone-sized browser (390 px wide), end to end:
headless Chromium (Playwright, Debian's /usr/bin/chromium) against the app on a loopback port,
a real RQ worker process answering AT's webhooks and sending to the local fake AT. The citizen
texts ASK with a place and gets the reference; the clerk of the centre it went to logs in,
opens the inbox from the home page's count, open the thread (the number masked), type the answer and see the live preview
(segments, cost), send it, close the thread with an outcome; the answer reaches AT for the
citizen's number, with the reference first. Nothing is wider than the screen. The screenshot
docs/dialogue.md shows is written to docs/img/inbox-390.png by `make staff-guide`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.store.models import Question
from tests.conftest import PASSWORD, TOKEN
from tests.fake_at import FakeAT
from tests.live import serving
from tests.sms.test_sms_pipeline import at_env
from tests.workers import running_workers, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.staff_guide]
CHROMIUM = Path("/usr/bin/chromium")
# The docs' picture is written under `make staff-guide` (STAFF_GUIDE_DIR) only; otherwise into
# the test artifacts, so an ordinary test run leaves the tracked image alone.
SCREENSHOT = (Path(__file__).resolve().parents[2] / "docs" / "img" / "inbox-390.png" if os.environ.get("STAFF_GUIDE_DIR")
              else Path(__file__).resolve().parents[1] / "artifacts" / "inbox-390.png")
PHONE = "+27821234567"
ANSWER = "Bring your old ID or birth certificate and 2 photos to the Home Affairs desk, Mon-Fri 08:00-15:30."


def http_post(url: str, form: dict) -> None:
    import urllib.parse
    import urllib.request

    with urllib.request.urlopen(url, urllib.parse.urlencode(form).encode(), timeout=10) as resp:
        assert resp.status == 200


def test_a_clerk_answers_a_question_on_a_phone(seeded, settings, auth, browser):
    assert CHROMIUM.exists(), "Debian chromium is required: make test installs it (apt-get install chromium)"
    from playwright.sync_api import expect

    SCREENSHOT.parent.mkdir(exist_ok=True)

    from gateway.web import create_app

    with serving(create_app(runtime=seeded)) as base, FakeAT() as fake, \
            running_workers(settings, env=at_env(fake)):
        http_post(f"{base}/webhooks/at/sms?token={TOKEN}", {
            "from": PHONE, "to": "31234", "text": "ASK Soweto: where do I renew my ID? I lost it.",
            "date": "2026-12-07 09:00:00", "id": "ATXid_ask1", "linkId": "l1", "networkCode": "65501"})
        ack = wait_until(lambda: [m for n, m, _from in fake.accepted_messages() if n == PHONE], timeout=30)
        with seeded.sessions() as s:
            ref, centre = s.execute(select(Question.ref, Question.centre_id).where(Question.phone == PHONE)).one()
        assert ref in ack[0] and centre is not None, ack
        auth.add("clerk", [centre], email="clerk@example.org")
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
            refused: list[str] = []
            page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(f"{base}/staff/login")
            page.fill("#email", "clerk@example.org")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page.get_by_test_id("inbox-open")).to_have_text("1")
            page.get_by_test_id("inbox-link").click()
            expect(page.get_by_test_id(f"age-{ref}")).to_contain_text("working h")
            page.get_by_role("link", name=ref).click()
            expect(page.get_by_test_id("phone")).to_contain_text("+2782****567")
            assert PHONE not in page.content()
            page.fill("#answer", ANSWER)  # the script asks for the preview as it is typed
            expect(page.get_by_test_id("segments")).to_have_text("1", timeout=15_000)  # a loaded host answers the preview late
            expect(page.get_by_test_id("preview")).to_contain_text(ref)
            expect(page.get_by_test_id("cost")).to_contain_text("R")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            page.get_by_role("button", name="Send answer").click()
            expect(page.locator(".flash", has_text=f"Your answer to {ref} is on its way")).to_be_visible()
            expect(page.get_by_test_id("entry-answer")).to_contain_text(ANSWER)
            page.select_option("#outcome", "Answered")
            page.get_by_role("button", name="Close", exact=True).click()
            expect(page.locator(".flash", has_text=f"{ref} is closed: Answered")).to_be_visible()
            expect(page.get_by_test_id(f"thread-{ref}")).to_have_count(0)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        finally:
            pass  # the browser fixture closes what the test opened
        sent = wait_until(lambda: [m for n, m, _from in fake.accepted_messages() if n == PHONE][1:], timeout=30)
    assert len(sent) == 1 and sent[0].startswith(ref)  # the one after the acknowledgement and ANSWER in sent[0], sent
    assert not refused, refused
    with seeded.sessions() as s:
        assert s.scalar(select(Question.status).where(Question.ref == ref)) == "closed"
    assert SCREENSHOT.stat().st_size > 10_000
