"""The daily roll-up and retention: the funnel — every screen a session reached, and the screen
where it really ended (driven through the webhook, ended by AT's notifications) — idempotent
days, days an older roll-up computed computed again while their detail lasts, totals that
survive retention emptying the detail."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update

from gateway.clock import FrozenClock
from gateway.staff import analytics
from gateway.store.models import (
    DailyFigure,
    Feedback,
    Message,
    UsageSearch,
    UssdHopLog,
    UssdSessionLog,
)
from gateway.usage import events, retention, rollup
from tests.conftest import TOKEN
from tests.dialer import Dialer
from tests.ussd.test_journeys import choose, en


def end_notification(client, phone: Dialer, status: str):
    resp = client.post(f"/webhooks/at/ussd/events?token={TOKEN}", data={
        "sessionId": phone.session_id, "phoneNumber": phone.phone, "status": status,
        "hopsCount": str(len(phone.inputs) + 1), "durationInMillis": "9000", "serviceCode": "*134*1234#",
        "input": phone.text})
    assert resp.status_code == 200


def stored(rt, metric: str) -> dict[tuple[str, str], int]:
    today = rollup.local_day(rt.clock.now())
    rollup.store_day(rt, today)
    with rt.sessions() as s:
        rows = s.execute(select(DailyFigure.detail, DailyFigure.channel, DailyFigure.n).where(
            DailyFigure.metric == metric, DailyFigure.day == today)).all()
    return {(screen, status): n for screen, status, n in rows}


def test_the_funnel_counts_every_screen_reached_and_the_one_each_session_ended_on(seeded, client):
    # 1. gives up on the place prompt: AT says Incomplete
    a = Dialer(client, "+27821110001")
    a.dial()
    choose(a, en("main.find"))
    end_notification(client, a, "Incomplete")
    # 2. the network fails on the main menu
    b = Dialer(client, "+27821110002")
    b.dial()
    end_notification(client, b, "Failed")
    # 3. gets the list of centres, then silence: no notification, the last screen was no END
    c = Dialer(client, "+27821110003")
    c.dial()
    choose(c, en("main.find"))
    c.press("Soweto")
    # 4. finishes: SMS me ends with an END screen, AT says Success — not a drop-off
    d = Dialer(client, "+27821110004")
    d.dial()
    choose(d, en("main.find"))
    d.press("Soweto")
    d.press("1")
    choose(d, en("centre.sms"))
    assert d.ended
    end_notification(client, d, "Success")
    # 5. two more give up on the place prompt, one of them twice-typed first
    for n, status in (("+27821110005", "Incomplete"), ("+27821110006", "Incomplete")):
        e = Dialer(client, n)
        e.dial()
        choose(e, en("main.find"))
        e.press("Xyzzyville")
        end_notification(client, e, status)
    assert events.drain(seeded) > 0
    assert stored(seeded, "ended") == {("find_place", "Incomplete"): 3, ("main", "Failed"): 1, ("nearest", ""): 1,
                                       ("sms_sent", "Success"): 1}
    # once per session, however often: two callers were asked for the place twice
    assert stored(seeded, "reached") == {("main", ""): 6, ("find_place", ""): 5, ("nearest", ""): 2,
                                         ("centre", ""): 1, ("sms_sent", ""): 1}
    funnel = analytics.report(seeded, 7, None, only="funnel")[0]
    assert [r[:5] for r in funnel.rows] == [["Main menu", 6, 100.0, 1, 16.7],
                                            ["Find a centre: type a place", 5, 83.3, 3, 50.0],
                                            ["Find a centre: centres near the place", 2, 33.3, 1, 16.7],
                                            ["A centre's details sent by SMS", 1, 16.7, 1, 16.7],
                                            ["A centre's menu", 1, 16.7, 0, 0.0]]
    assert funnel.totals == [["Ended on an answer", None, None, 1, 16.7, "answer"],
                             ["Closed by the service", None, None, 0, 0.0, "closed by the service"],
                             ["Gave up", None, None, 5, 83.3, "gave up"],
                             ["All sessions", 6, 100.0, 6, 100.0, ""]]


def test_a_day_rolled_twice_has_the_same_rows(seeded, client):
    for n in ("+27821110001", "+27821110002"):
        p = Dialer(client, n)
        p.dial()
        choose(p, en("main.find"))
        p.press("Soweto")
    events.drain(seeded)
    today = rollup.local_day(seeded.clock.now())
    with seeded.engine.connect() as conn:
        first = sorted(map(repr, rollup.figures_for_day(conn, today)))
    rollup.store_day(seeded, today)
    rollup.store_day(seeded, today)
    with seeded.sessions() as s:
        stored = s.execute(select(DailyFigure.metric, DailyFigure.n).where(DailyFigure.day == today)).all()
    assert len(stored) == len(first)
    assert dict((m, n) for m, n in stored if m in ("ussd_sessions", "ussd_callers", "ussd_hops")) == {
        "ussd_sessions": 2, "ussd_callers": 2, "ussd_hops": 6}


def _old_detail(rt, now: datetime, age_days: int, tag: str) -> None:
    """One day's detail ``age_days`` ago: two hops of a session, a search, two SMS, a rating."""
    at = now - timedelta(days=age_days)
    with rt.sessions.begin() as s:
        for i, (screen, end) in enumerate((("main", False), ("find_place", False))):
            s.add(UssdHopLog(at=at + timedelta(seconds=i), session_id=f"s-{tag}", caller=f"c-{tag}",
                             screen=screen, end=end))
        s.add(UssdSessionLog(session_id=f"s-{tag}", status="Incomplete", input="1*Soweto", created_at=at))
        s.add(UsageSearch(at=at, channel="ussd", kind="place", term="soweto", found=True, centre_id=None,
                          caller=f"c-{tag}"))
        s.add(Message(direction="in", idempotency_key=f"in-{tag}", phone="+27820000001", text="CENTRE Soweto",
                      status="processed", created_at=at, updated_at=at))
        s.add(Message(direction="out", idempotency_key=f"out-{tag}", phone="+27820000001", text="Maponya Mall …",
                      queue="replies", status="delivered", segments=2, created_at=at, updated_at=at))
        s.add(Feedback(centre_id=rt.directory.entries()[0].id, rating=4, reason="queue", created_at=at))


def _totals(rt) -> dict:
    figures = {f.key: f for f in analytics.report(rt, 365, None)}
    return {"sessions": sum(r[1] for r in figures["sessions"].rows),
            "ended": figures["funnel"].totals[-1][3],
            "searches": [tuple(r) for r in figures["searches"].rows],
            "sms": [tuple(r) for r in figures["sms"].rows if r[1]],
            "feedback": [tuple(r) for r in figures["feedback"].rows]}


def test_retention_empties_old_bodies_and_inputs_while_the_totals_stay_equal(seeded):
    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    rt = dataclasses.replace(seeded, clock=FrozenClock(now), settings=seeded.settings.with_(RETENTION_DAYS=30))
    for age, tag in ((100, "old1"), (45, "old2"), (3, "new")):
        _old_detail(rt, now, age, tag)
    rollup.roll_up(rt)
    before = _totals(rt)
    assert before["sessions"] == 3 and before["ended"] == 3 and len(before["sms"]) == 3

    done = retention.apply(rt)

    assert done == {"bodies": 4, "inputs": 2, "terms": 2, "hops": 4}
    with rt.sessions() as s:
        bodies = dict(s.execute(select(Message.idempotency_key, Message.text)).all())
        inputs = dict(s.execute(select(UssdSessionLog.session_id, UssdSessionLog.input)).all())
        terms = s.scalars(select(UsageSearch.term).order_by(UsageSearch.at)).all()
        hops = s.scalar(select(func.count()).select_from(UssdHopLog))
    assert bodies == {"in-old1": "", "out-old1": "", "in-old2": "", "out-old2": "",
                      "in-new": "CENTRE Soweto", "out-new": "Maponya Mall …"}
    assert inputs == {"s-old1": None, "s-old2": None, "s-new": "1*Soweto"}
    assert terms == [None, None, "soweto"] and hops == 2
    assert _totals(rt) == before
    # a forced re-roll of an emptied day is refused: its roll-up is the record now
    old_day = rollup.local_day(now - timedelta(days=100))
    assert rollup.roll_up(rt, force=[old_day]) == []
    assert _totals(rt) == before


def _outdate(rt) -> None:
    """Every stored day as an older roll-up left it: no funnel, the marker of no version."""
    with rt.engine.begin() as conn:
        conn.execute(delete(DailyFigure).where(DailyFigure.metric.in_(("reached", "ended"))))
        conn.execute(update(DailyFigure).where(DailyFigure.metric == "day").values(detail=""))


def test_days_an_older_roll_up_computed_are_computed_again_while_their_detail_lasts(seeded):
    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    rt = dataclasses.replace(seeded, clock=FrozenClock(now), settings=seeded.settings.with_(RETENTION_DAYS=30))
    for age, tag in ((45, "old"), (3, "new")):
        _old_detail(rt, now, age, tag)
    rollup.roll_up(rt)
    retention.apply(rt)  # the old day's hops are gone; its roll-up is the record
    _outdate(rt)

    again = rollup.roll_up(rt)
    assert rollup.local_day(now - timedelta(days=3)) in again
    assert min(again) == rollup.retention_cutoff_day(rt)  # never the emptied day, 45 days ago
    assert rollup.roll_up(rt) == []  # computed by this version now
    figures = {f.key: f for f in analytics.report(rt, 90, None)}
    assert sum(r[1] for r in figures["sessions"].rows) == 2  # the emptied day's session is still counted
    assert figures["funnel"].totals[-1][3] == 1  # the funnel has the day whose detail lasted


def test_retention_waits_for_days_that_have_no_roll_up(seeded, monkeypatch):
    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    rt = dataclasses.replace(seeded, clock=FrozenClock(now), settings=seeded.settings.with_(RETENTION_DAYS=30))
    _old_detail(rt, now, 100, "old")
    monkeypatch.setattr(rollup, "store_day", lambda rt, day: 0)  # the roll-up fails to store
    assert retention.apply(rt) == {"skipped": 71}
    with rt.sessions() as s:
        assert s.scalar(select(Message.text).where(Message.idempotency_key == "in-old")) == "CENTRE Soweto"
