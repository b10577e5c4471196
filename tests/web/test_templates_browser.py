"""A clerk schedules a visit from a template, in headless Chromium (Debian's /usr/bin/chromium)
at 1366 px and at a phone's 390 px: from the Templates page to the visit form filled from the
template, the visit's details typed, the notice previewed as sent, a line added to it, then
registered — and the visit waits for an approver, whose page shows the notice as edited. The
pages do not scroll sideways on the phone. Clicks and seconds go to the staff guide's table,
the screenshots (templates, visit-from-template) to its pages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from gateway.staff import broadcasts as bc
from gateway.staff import templates
from gateway.store.models import Visit
from tests.broadcasting import add_subscribers, centre_id, ordinary_day
from tests.conftest import PASSWORD
from tests.live import serving
from tests.staff_tasks import WIDTHS, open_context, screenshot, task

pytestmark = [pytest.mark.slow, pytest.mark.staff_guide]
NOTICE = "{service} at {centre}, {when}. Bring your ID book."


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_clerk_schedules_a_visit_from_a_template(seeded, auth, browser, monkeypatch, width):
    from playwright.sync_api import expect

    from gateway.web import create_app

    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BROADCAST_APPROVAL="true"))
    soweto = centre_id(seeded, "Soweto")
    add_subscribers(seeded, [f"+2782500000{i}" for i in range(4)], soweto)
    clerk = auth.add("clerk", [soweto], email="clerk@example.org")
    approver = auth.add("approver", email="approver@example.org")
    templates.create(seeded, bc.Actor.of(approver), "Closed for stock-taking", "The centre is closed on Friday.")
    templates.create(seeded, bc.Actor.of(clerk), "SASSA mobile unit", NOTICE, centre_id=soweto)
    day = ordinary_day(seeded, soweto, date.today() + timedelta(days=3))
    long_name = "Water and electricity interruption at the centre for the whole of next week, all day"[:80]
    templates.create(seeded, bc.Actor.of(approver), long_name, "No water or electricity next week.")
    rejected = bc.create(seeded, bc.Actor.of(clerk), f"centre:{soweto}", "Home Affairs on Tuesday")
    bc.submit(seeded, bc.Actor.of(clerk), rejected.id)
    bc.reject(seeded, bc.Actor.of(approver), rejected.id, "Say which Tuesday", bc.seen_digest(bc.get(seeded, rejected.id)))

    with serving(create_app(runtime=seeded)) as base:
        context = open_context(browser, width)
        page = context.new_page()
        page.goto(f"{base}/staff/login")
        page.fill("#email", clerk.email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.get_by_role("link", name="Templates")).to_be_visible()

        with task(context, "clerk", "Schedule a visit from a template", width):
            page.get_by_role("link", name="Templates").click()
            card = page.get_by_test_id("template").filter(has_text="SASSA mobile unit")
            expect(card).to_be_visible()
            assert fits(page)
            screenshot(page, "templates", width)
            card.get_by_role("link", name="Schedule a visit from it").click()
            expect(page.get_by_test_id("started")).to_contain_text("SASSA mobile unit")
            expect(page.locator("#notice")).to_have_value(NOTICE)
            page.select_option("#office", "SASSA")
            page.fill("#day", day.isoformat())
            page.fill("#starts", "09:00")
            page.fill("#ends", "14:00")
            page.fill("#notice", NOTICE + " Come early.")
            page.get_by_role("button", name="Preview the notice").click()
            notice = page.get_by_test_id("notice-text")
            expect(notice).to_contain_text("SASSA at Maponya Mall Thusong")
            expect(notice).to_contain_text("Bring your ID book. Come early.")
            expect(page.get_by_test_id("notice-encoding")).to_have_text("GSM-7")
            assert fits(page)
            screenshot(page, "visit-from-template", width)
            page.get_by_role("button", name="Register").click()
            expect(page.get_by_test_id("status")).to_have_text("pending approval")
            expect(page.get_by_test_id("plan-text").first).to_contain_text("Bring your ID book. Come early.")
            assert fits(page)

        # Outside the task: with JavaScript the notice's preview follows the typing (no button pressed).
        page.goto(f"{base}/staff/visits/new")
        page.select_option("#office", "HA")
        page.fill("#day", day.isoformat())
        page.fill("#starts", "10:00")
        page.fill("#ends", "12:00")
        page.fill("#notice", "{service} at {centre}, {when}. Bring water.")
        expect(page.get_by_test_id("notice-text")).to_contain_text("Home Affairs at Maponya Mall Thusong")
        expect(page.get_by_test_id("notice-text")).to_contain_text("Bring water.")

        # Outside the task: compose from the long-named template, and the resubmit page, fit a phone too.
        page.goto(f"{base}/staff/broadcasts/new")
        page.select_option("#template", label=long_name)
        page.get_by_role("button", name="Use this template").click()
        expect(page.locator("#message")).to_have_value("No water or electricity next week.")
        assert fits(page)
        page.goto(f"{base}/staff/broadcasts/{rejected.id}")
        page.get_by_test_id("resubmit").click()
        expect(page.get_by_test_id("rejection")).to_contain_text("Say which Tuesday")
        expect(page.locator("#message")).to_have_value("Home Affairs on Tuesday")
        assert fits(page)
        context.close()

    with seeded.sessions() as s:
        row = s.scalars(select(Visit)).one()
    assert (row.status, row.day, row.author_id, row.notice) == ("pending_approval", day, clerk.id,
                                                                 NOTICE + " Come early.")
