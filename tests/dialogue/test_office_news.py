"""Offices' status seen by citizens: a status set by staff changes what ``STATUS Soweto``, the
``CENTRE`` reply and the USSD details screen show, not-up offices first; an expired one (the
end of the SAST day, injected clock) shows nowhere; the STATUS reply keeps the segment budget."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import event, insert, select

from gateway.clock import SAST, FrozenClock
from gateway.dialogue import office_news
from gateway.dialogue.office_status import end_of_day
from gateway.sms.replies import answer
from gateway.staff import audit
from gateway.staff.office_status import set_status
from gateway.store.models import Office, centre_offices
from menus.catalogue import LANGUAGES
from menus.keywords import REPLY_SEGMENTS, parse
from menus.office_news import status_reply
from menus.ports import OfficeNews
from menus.segments import measure
from tests.fake_at import FakeAT
from tests.sms.test_sms_pipeline import at_env, inbound
from tests.ussd.test_journeys import dial_to_centre
from tests.workers import running_workers, wait_quiet, wait_until

MORNING = datetime(2026, 3, 2, 7, 12, tzinfo=UTC)  # 09:12 SAST, a Monday
PHONE = "+27821234567"
DOWN = "Home Affairs: DOWN - system offline (09:12)"


def maponya(rt, codes=("HA", "SASSA", "POST")) -> int:
    """The centre nearest Soweto, given offices (the seed lists none)."""
    cid = rt.directory.nearest("Soweto", 1).centres[0].centre.id
    with rt.sessions.begin() as s:
        ids = dict(s.execute(select(Office.code, Office.id)).all())
        s.execute(insert(centre_offices), [{"centre_id": cid, "office_id": ids[c]} for c in codes])
    return cid


def reply(rt, text: str, lang: str = "en", news=office_news.news) -> str:
    return answer(rt, PHONE, parse(text), lang, news=news)


def test_status_and_centre_replies_show_a_status_until_it_expires(seeded, monkeypatch):
    cid = maponya(seeded)
    clock = FrozenClock(MORNING + timedelta(minutes=30))
    monkeypatch.setattr(seeded, "clock", clock)
    assert reply(seeded, "STATUS Soweto") == "Maponya Mall Thusong: no reports today."
    assert "Today:" not in reply(seeded, "CENTRE Soweto")

    set_status(seeded, audit.CLI, cid, "SASSA", "up", now=MORNING - timedelta(hours=1))
    set_status(seeded, audit.CLI, cid, "HA", "down", "offline", now=MORNING)
    assert reply(seeded, "STATUS Soweto") == f"Maponya Mall Thusong today: {DOWN}; SASSA: up (08:12)"
    centre = reply(seeded, "CENTRE Soweto").splitlines()
    assert centre[1].startswith("1) Maponya Mall Thusong") and centre[2] == f"Today: {DOWN}"

    clock._at = end_of_day(MORNING)  # midnight SAST: both expire
    assert reply(seeded, "STATUS Soweto") == "Maponya Mall Thusong: no reports today."
    assert "Today:" not in reply(seeded, "CENTRE Soweto")


def test_centre_reply_adds_no_line_when_every_office_is_up(seeded, monkeypatch):
    cid = maponya(seeded)
    monkeypatch.setattr(seeded, "clock", FrozenClock(MORNING))
    set_status(seeded, audit.CLI, cid, "HA", "up", now=MORNING)
    assert "Today:" not in reply(seeded, "CENTRE Soweto")
    assert reply(seeded, "STATUS Soweto") == "Maponya Mall Thusong today: Home Affairs: up (09:12)"
    # an office not up comes first, whatever the reference order
    set_status(seeded, audit.CLI, cid, "POST", "slow", now=MORNING)
    assert reply(seeded, "STATUS Soweto") == "Maponya Mall Thusong today: Post Office: SLOW (09:12); Home Affairs: up (09:12)"
    assert "\nToday: Post Office: SLOW (09:12)\n" in reply(seeded, "CENTRE Soweto")


def test_status_is_never_answered_without_the_status_reader(seeded):
    """A caller that gives no reader must not tell citizens "no reports today"."""
    maponya(seeded)
    with pytest.raises(RuntimeError, match="no office status reader"):
        reply(seeded, "STATUS Soweto", news=None)
    assert "Today:" not in reply(seeded, "CENTRE Soweto", news=None)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_status_reply_keeps_the_budget_in_every_language(lang):
    every = [OfficeNews(code, "down", "no_forms", time(9, 12))
             for code in ("HA", "SASSA", "UIF", "SARS", "POST", "GCIS", "HEALTH", "DSD", "JUSTICE", "MUNI")]
    text = status_reply(lang, "Thusong Service Centre (Langeberg Municipality with a long name)", every)
    assert measure(text).segments <= REPLY_SEGMENTS, text
    assert text.endswith("...") and "(09:12)" in text


def test_ussd_details_show_today_s_not_up_statuses_first_until_they_expire(seeded, client, monkeypatch):
    cid = maponya(seeded)
    clock = FrozenClock(MORNING + timedelta(minutes=5))
    monkeypatch.setattr(seeded, "clock", clock)
    set_status(seeded, audit.CLI, cid, "POST", "up", now=MORNING)
    set_status(seeded, audit.CLI, cid, "SASSA", "slow", "queue", now=MORNING)
    set_status(seeded, audit.CLI, cid, "HA", "down", "offline", now=MORNING)
    phone = dial_to_centre(client)
    screen = phone.press("1").splitlines()
    assert screen[:3] == ["Maponya Mall Thusong", DOWN, "SASSA: SLOW - long queue (09:12)"], screen
    pages = [phone.screen]
    while "98.More" in phone.screen.splitlines():
        pages.append(phone.press("98"))
    assert "Post Office" not in "\n".join(pages) and "Phone:" in pages[-1], pages  # an up office: no news

    clock._at = end_of_day(MORNING)
    screen = dial_to_centre(client, phone="+27821234568").press("1").splitlines()  # a new caller: no resume
    assert screen[0] == "Maponya Mall Thusong" and "Home Affairs" not in "\n".join(screen), screen


def test_only_the_details_screen_reads_statuses_and_with_one_query_a_hop(seeded, client):
    cid = maponya(seeded)
    set_status(seeded, audit.CLI, cid, "HA", "down", "offline")
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    def status_reads(*keys: str) -> list[int]:
        counts = []
        for key in keys:
            statements.clear()
            phone.press(key)
            counts.append(sum("office_statuses" in s for s in statements))
        return counts

    event.listen(seeded.engine, "before_cursor_execute", seen)
    try:
        phone = dial_to_centre(client)
        assert not any("office_statuses" in s for s in statements)  # menus, lists, the centre menu
        # details, its next page (rendered twice in that hop), back, the services screen
        counts = status_reads("1", "98")
        assert "Home Affairs: DOWN" not in phone.screen  # page 2: the status was on page 1
        counts += status_reads("0", "0", "2")
    finally:
        event.remove(seeded.engine, "before_cursor_execute", seen)
    assert counts == [1, 1, 1, 0, 0]


@pytest.mark.slow
def test_status_soweto_end_to_end_through_a_worker(seeded, client, settings):
    cid = maponya(seeded)
    now = datetime.now(UTC)
    set_status(seeded, audit.CLI, cid, "SASSA", "down", "closed", now=now - timedelta(days=1))  # expired
    with FakeAT() as fake, running_workers(settings, env=at_env(fake)):
        inbound(client, "STATUS Soweto", "ATXid_status_1")
        wait_until(lambda: len(fake.requests) == 1)
        assert fake.requests[0].form["message"] == "Maponya Mall Thusong: no reports today."
        status = set_status(seeded, audit.CLI, cid, "HA", "down", "offline", now=now)
        inbound(client, "STATUS Soweto", "ATXid_status_2")
        inbound(client, "CENTRE Soweto", "ATXid_status_3")
        wait_until(lambda: len(fake.requests) == 3)
        wait_quiet(seeded)
    line = f"Home Affairs: DOWN - system offline ({status.set_at.astimezone(SAST):%H:%M})"
    messages = [r.form["message"] for r in fake.requests[1:]]
    assert f"Maponya Mall Thusong today: {line}" in messages, messages
    assert any(f"\nToday: {line}\n" in m for m in messages), messages
    assert len(fake.requests) == 3
