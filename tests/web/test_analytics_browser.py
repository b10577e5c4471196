"""The analytics page in headless Chromium (Playwright, Debian's /usr/bin/chromium) against the
app on a loopback port, its database filled by ``thusong demo seed --days 7`` (the real
command, in its own process). Every chart draws; every number checked on the page equals a
count the test makes itself in SQL from the detail tables (not from the roll-up); sessions
driven through the live USSD webhook and ended by AT's end notifications on a known screen
show up on that screen; a clerk sees only their centre's figures; without JavaScript the
tables stand alone. Screenshots go to tests/artifacts/ (the README links them).

The staff guide's task "admin — read the funnel", at 1366 px and 390 px: from the home page to
the funnel, whose shares for a centre's hours and address equal the test's own count of the
sessions that reached it and ended there, marked as an answer, and no sideways scroll."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.clock import SAST
from gateway.dialogue import office_status, questions
from gateway.staff import audit
from gateway.staff import questions as staff_questions
from gateway.staff.centre_offices import set_offices
from gateway.usage import demo, events
from gateway.web.staff.sa_words import cell
from gateway.web.staff.sa_words import day as words
from tests.conftest import PASSWORD, TOKEN
from tests.live import serving
from tests.staff_tasks import WIDTHS, open_context, screenshot, task
from tests.workers import ROOT

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WIDE = ("sessions", "funnel", "not_found", "keywords")
EVERY = ("sessions", "funnel", "searches", "not_found", "keywords", "sms", "sms_failures", "feedback",
         "feedback_reasons", "subscribers", "office_status", "questions")
OPTED_OUT = "('OptedOut', 'UserInBlacklist', 'UserInBlackList')"


def local_days(n: int = 7):
    """The last ``n`` South African days, each with its bounds in UTC: a raw SQL parameter
    reaches SQLite as text, where a SAST bound against UTC timestamps is two hours off."""
    today = datetime.now(SAST).date()
    for i in range(n - 1, -1, -1):
        day = today - timedelta(days=i)
        start = datetime.combine(day, time(0), SAST)
        yield day, start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def table(page, key: str) -> list[list[str]]:
    rows = page.locator(f"[data-testid=table-{key}] tbody tr")
    return [[c.strip() for c in rows.nth(i).locator("td").all_inner_texts()] for i in range(rows.count())]


def log_in(browser, base: str, email: str, javascript: bool = True):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{base}/staff/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/staff/")
    return page


def ussd(base: str, session_id: str, phone: str, text_: str) -> str:
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode({"sessionId": session_id, "serviceCode": "*134*1234#", "phoneNumber": phone,
                                   "networkCode": "65501", "text": text_}).encode()
    with urllib.request.urlopen(f"{base}/webhooks/at/ussd?token={TOKEN}", body, timeout=10) as resp:
        return resp.read().decode()


def end(base: str, session_id: str, status: str) -> None:
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode({"sessionId": session_id, "status": status, "hopsCount": "3"}).encode()
    with urllib.request.urlopen(f"{base}/webhooks/at/ussd/events?token={TOKEN}", body, timeout=10) as resp:
        assert resp.status == 200


def test_analytics_charts_and_numbers_in_chromium(seeded, settings, auth, browser):
    assert CHROMIUM.exists(), "Debian chromium is required (apt-get install chromium)"

    done = subprocess.run([sys.executable, "-m", "gateway.cli", "demo", "seed", "--days", "7"], cwd=ROOT,
                          env={**os.environ, **settings.as_environ()}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    print(done.stdout)
    with seeded.engine.connect() as conn:
        centre, name = conn.execute(text(
            "SELECT c.id, c.name FROM centres c JOIN subscriptions s ON s.centre_id = c.id "
            "WHERE c.id IN (SELECT centre_id FROM feedback) AND "
            "  ('centre:' || c.id) IN (SELECT target FROM broadcasts) "
            "GROUP BY c.id, c.name ORDER BY COUNT(*) DESC, c.id LIMIT 1")).one()
    auth.add("admin", email="admin@example.org")
    auth.add("clerk", [centre], email="clerk@example.org")
    set_offices(seeded, audit.CLI, centre, ["HA", "SASSA"])
    for state in ("down", "up", "down"):  # now: one day with HA down, two down reports of three
        office_status.record(seeded, centre, "HA", state, staff_id=None, via="cli")
    asked = questions.open_thread(seeded, "+27829990001", "complain", "The queue never moves", "en", "sms").thread
    staff_questions.transfer(seeded, audit.CLI, asked.ref, centre)
    ARTIFACTS.mkdir(exist_ok=True)

    from gateway.web import create_app

    with serving(create_app(runtime=seeded)) as base:
        # Three callers give up on "Stop ALL Thusong SMS?" (a screen the demo never ends on).
        for n, status in enumerate(("Incomplete", "Incomplete", "Failed")):
            sid, phone = f"ATUid_drop_{n}", f"+2782700000{n}"
            for typed in ("", "4", "4*2"):
                screen = ussd(base, sid, phone, typed)
            assert screen.startswith("CON Stop ALL Thusong SMS"), screen
            end(base, sid, status)
        events.drain(seeded)  # what the worker's usage job does

        page = log_in(browser, base, "admin@example.org")
        refused: list[str] = []
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        page.click("nav >> text=Analytics")
        page.goto(f"{base}/staff/analytics?days=7")
        page.wait_for_function(f"document.querySelectorAll('canvas[data-drawn]').length == {len(EVERY)}")
        drawn = page.evaluate("[...document.querySelectorAll('canvas')].map(c => !!Chart.getChart(c) "
                              "&& c.width > 0 && c.height > 0)")
        assert drawn == [True] * len(EVERY)
        page.screenshot(path=str(ARTIFACTS / "analytics.png"), full_page=True)
        for key in EVERY:
            page.get_by_test_id(f"figure-{key}").screenshot(path=str(ARTIFACTS / f"analytics-{key}.png"))
        check_admin_numbers(page, seeded)
        csv_rows = list(csv.reader(io.StringIO(page.request.get(f"{base}/staff/analytics/sessions.csv?days=7").text())))
        assert [[cell(r[0], "Day"), *r[1:]] for r in csv_rows[1:]] == table(page, "sessions")  # ISO in the CSV

        clerk = log_in(browser, base, "clerk@example.org")
        clerk.goto(f"{base}/staff/analytics?days=7")
        clerk.wait_for_function(f"document.querySelectorAll('canvas[data-drawn]').length == {len(EVERY) - len(WIDE)}")
        clerk.screenshot(path=str(ARTIFACTS / "analytics-clerk.png"), full_page=True)
        check_clerk_numbers(clerk, seeded, centre, name)
        assert clerk.request.get(f"{base}/staff/analytics/sessions.csv?days=7").status == 404

        bare = log_in(browser, base, "admin@example.org", javascript=False)
        bare.goto(f"{base}/staff/analytics?days=7")
        assert bare.locator("canvas[data-drawn]").count() == 0
        assert table(bare, "sessions") == table(page, "sessions")
    assert not refused, refused
    for key in EVERY:
        assert (ARTIFACTS / f"analytics-{key}.png").stat().st_size > 3000


def check_admin_numbers(page, rt) -> None:
    with rt.engine.connect() as conn:
        sessions = {}
        sms = {}
        for day, start, stop in local_days():
            b = {"s": start, "e": stop}
            sessions[words(day)] = list(conn.execute(text(
                "SELECT COUNT(DISTINCT session_id), COUNT(DISTINCT caller) FROM ussd_hops "
                "WHERE at >= :s AND at < :e"), b).one())
            sms[words(day)] = list(conn.execute(text(
                "SELECT "
                f" SUM(CASE WHEN status IN ('sent','simulated','unknown','delivered','failed') "
                f"     AND COALESCE(failure_reason, '') NOT IN {OPTED_OUT} THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END),"
                f" SUM(CASE WHEN status = 'failed' AND COALESCE(failure_reason, '') NOT IN {OPTED_OUT} "
                "     THEN 1 ELSE 0 END),"
                f" SUM(CASE WHEN failure_reason IN {OPTED_OUT} THEN 1 ELSE 0 END) "
                "FROM messages WHERE direction = 'out' AND created_at >= :s AND created_at < :e"), b).one())
        since = next(local_days())[1]
        searches = {(k, t): n for k, t, n in conn.execute(text(
            "SELECT kind, term, COUNT(*) FROM usage_searches WHERE found = :yes AND at >= :s "
            "GROUP BY kind, term"), {"yes": True, "s": since})}
        missing = {t: (u, s) for t, u, s in conn.execute(text(
            "SELECT term, SUM(CASE WHEN channel = 'ussd' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN channel = 'sms' THEN 1 ELSE 0 END) FROM usage_searches "
            "WHERE found = :no AND kind = 'place' AND at >= :s GROUP BY term"), {"no": False, "s": since})}
        ratings = dict(conn.execute(text(
            "SELECT c.name, COUNT(*) FROM feedback f JOIN centres c ON c.id = f.centre_id "
            "WHERE f.created_at >= :s GROUP BY c.name"), {"s": since}).all())
    shown = {r[0]: [_count(r[1]), _count(r[2])] for r in table(page, "sessions")}
    assert shown == sessions and sum(v[0] for v in shown.values()) > 1000
    shown_sms = {r[0]: [_count(x) for x in r[1:5]] for r in table(page, "sms")}
    assert shown_sms == {d: [int(x or 0) for x in v] for d, v in sms.items()}
    top = table(page, "searches")
    assert len(top) == 15 and all(_count(r[4]) == searches[(r[0], r[1])] for r in top)
    assert _count(top[0][4]) == max(searches.values())
    for term, ussd_n, sms_n, total in table(page, "not_found"):
        assert (_count(ussd_n), _count(sms_n)) == missing[term] and _count(total) == sum(missing[term])
    funnel = {r[0]: r[1:] for r in table(page, "funnel")}
    stop_all = funnel["Stop ALL Thusong SMS?"]  # the demo never goes there: only the three above
    assert (stop_all[0], stop_all[2], stop_all[4]) == ("3", "3", "gave up")
    per_centre: dict[str, int] = {}
    every = list(csv.reader(io.StringIO(page.request.get(f"{page.url.split('/staff')[0]}/staff/analytics/"
                                                         "feedback.csv?days=7").text())))[1:]
    assert len(every) > len(table(page, "feedback"))  # the page shows one page of them
    for centre, _period, n, _avg in every:
        per_centre[centre] = per_centre.get(centre, 0) + _count(n)
    assert per_centre == ratings


def check_clerk_numbers(page, rt, centre: int, name: str) -> None:
    for key in WIDE:
        assert page.get_by_test_id(f"figure-{key}").count() == 0
    assert page.get_by_test_id("scope-note").is_visible()
    today_end = list(local_days())[-1][2]
    since = next(local_days())[1]
    with rt.engine.connect() as conn:
        subscribers = conn.execute(text(
            "SELECT COUNT(*) FROM subscriptions WHERE centre_id = :c AND consented_at < :e "
            "AND (ended_at IS NULL OR ended_at >= :e)"), {"c": centre, "e": today_end}).scalar()
        bulk = conn.execute(text(
            "SELECT COUNT(*) FROM messages m JOIN broadcasts b ON b.id = m.broadcast_id "
            f"WHERE b.target = :t AND m.created_at >= :s AND m.status IN ('sent','delivered','failed') "
            f"AND COALESCE(m.failure_reason, '') NOT IN {OPTED_OUT}"),
            {"t": f"centre:{centre}", "s": since}).scalar()
        found = conn.execute(text("SELECT COUNT(*) FROM usage_searches WHERE centre_id = :c AND found = :yes "
                                  "AND at >= :s"), {"c": centre, "yes": True, "s": since}).scalar()
        ratings = conn.execute(text("SELECT COUNT(*) FROM feedback WHERE centre_id = :c AND created_at >= :s"),
                               {"c": centre, "s": since}).scalar()
    subs = table(page, "subscribers")
    assert {r[0] for r in subs} == {name} and _count(subs[-1][2]) == subscribers
    assert sum(_count(r[1]) for r in table(page, "sms")) == bulk
    shown_found = sum(_count(r[4]) for r in table(page, "searches"))
    assert 0 < shown_found <= found  # the top 15 of them
    feedback = table(page, "feedback")
    assert {r[0] for r in feedback} == {name} and sum(_count(r[2]) for r in feedback) == ratings
    assert table(page, "office_status") == [[name, "HA", "1", "2", "3"]]
    assert table(page, "questions") == [[name, "0", "1", "0", "–", "–"]]  # just received: no text shown


def funnel_counts(rt, screen: str) -> tuple[int, int, int]:
    """Sessions, those that showed ``screen``, and those whose last screen it was: counted
    from the hops themselves."""
    shown: dict[str, set[str]] = {}
    last: dict[str, str] = {}
    with rt.engine.connect() as conn:
        for sid, at_screen in conn.execute(text("SELECT session_id, screen FROM ussd_hops ORDER BY at, id")):
            shown.setdefault(sid, set()).add(at_screen)
            last[sid] = at_screen
    return len(shown), sum(screen in s for s in shown.values()), sum(x == screen for x in last.values())


def share(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}".removesuffix(".0")


@pytest.mark.staff_guide
@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_reads_the_funnel(seeded, auth, browser, width):
    demo.seed(seeded, days=7)
    auth.add("admin", email="admin@example.org")
    sessions, reached, ended = funnel_counts(seeded, "centre_details")
    assert sessions > 1000 and 0 < ended <= reached < sessions

    from playwright.sync_api import expect

    from gateway.web import create_app

    with serving(create_app(runtime=seeded)) as base:
        context = open_context(browser, width)
        page = context.new_page()
        page.goto(f"{base}/staff/login")
        page.fill("#email", "admin@example.org")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/staff/")
        with task(context, "admin", "Read the funnel", width):
            page.get_by_role("link", name="Analytics").click()
            funnel = page.get_by_test_id("figure-funnel")
            expect(funnel.get_by_role("heading")).to_contain_text("funnel")
            funnel.scroll_into_view_if_needed()
            row = funnel.get_by_role("row").filter(has_text="A centre's hours and address")
            cells = [c.strip() for c in row.locator("td").all_inner_texts()]
            assert cells == ["A centre's hours and address", f"{reached:,}".replace(",", " "), share(reached, sessions),
                             f"{ended:,}".replace(",", " "), share(ended, sessions), "answer"]
            main = [c.strip() for c in funnel.get_by_role("row").filter(has_text="Main menu").locator("td")
                    .all_inner_texts()]
            assert main[2] == "100" and main[-1] == "gave up"
            foot = funnel.locator("tfoot tr").filter(has_text="All sessions")
            expect(foot).to_contain_text(f"{sessions:,}".replace(",", " "))
        page.wait_for_function("document.querySelectorAll('canvas[data-drawn]').length > 0")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # on a phone the funnel is a card per screen: "answer" is in sight without scrolling its box
        box = funnel.locator(".table-box")
        assert box.evaluate("b => b.scrollWidth <= b.clientWidth"), "the funnel scrolls sideways in its box"
        screenshot(page, "analytics", width)
        funnel.screenshot(path=str(ARTIFACTS / f"analytics-funnel-{width}.png"))
        context.close()


def _count(shown: str) -> int:
    """A count as the page shows it: South African style, thousands set apart by a space (1 158)."""
    return int(shown.replace("\u00a0", "").replace(" ", ""))
