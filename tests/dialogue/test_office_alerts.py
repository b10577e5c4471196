"""Office-down alerts: subscribers who asked (ALERTS <place>, the USSD subscribe screen) get one
SMS in their language when an office at their centre goes down — at most once per office per
SAST day, whoever sets it and however often — on the bulk path (never to a number that said
STOP, checked again when the row is claimed) but not held by quiet hours, in one segment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from gateway import jobs
from gateway.clock import FrozenClock
from gateway.dialogue.office_alerts import queue_down_alerts
from gateway.sms import consent, outbox, sending
from gateway.sms.quiet_hours import fixed_windows_setting
from gateway.sms.replies import answer
from gateway.staff import audit
from gateway.staff.office_status import set_status
from gateway.store.models import Message, Subscription
from menus.catalogue import LANGUAGES
from menus.keywords import parse
from menus.office_news import ALERT_SEGMENTS, alert_text
from menus.segments import measure
from tests.dialogue.test_office_news import maponya
from tests.ussd.test_journeys import dial_to_centre, options

MORNING = datetime(2026, 3, 2, 7, 12, tzinfo=UTC)  # 09:12 SAST, a Monday
ALERTED = "+27825551001"
ZULU = "+27825551002"
NOTICES_ONLY = "+27825551003"
ALERT = "Home Affairs at Maponya Mall Thusong: DOWN today - system offline. Check before you travel. ALERTS OFF to stop."


def alerts(rt) -> list[tuple[str, str, str]]:
    """(number, status, text) of every alert row, oldest first."""
    with rt.sessions() as s:
        return [tuple(r) for r in s.execute(select(Message.phone, Message.status, Message.text)
                                            .where(Message.idempotency_key.like("notice:office-down:%"))
                                            .order_by(Message.id))]


@pytest.fixture
def centre(seeded, monkeypatch):
    cid = maponya(seeded)
    monkeypatch.setattr(seeded, "clock", FrozenClock(MORNING))
    consent.subscribe(seeded, ALERTED, cid, "en", alerts=True)
    consent.subscribe(seeded, ZULU, cid, "zu", alerts=True)
    consent.subscribe(seeded, NOTICES_ONLY, cid, "en")
    return cid


def test_a_down_alerts_subscribers_who_asked_in_their_language(seeded, centre):
    set_status(seeded, audit.CLI, centre, "HA", "down", "offline", now=MORNING)
    sent = {phone: text for phone, _status, text in alerts(seeded)}
    assert sent == {ALERTED: ALERT, ZULU: alert_text("zu", "Maponya Mall Thusong", "HA", "offline")}
    assert sent[ZULU].startswith("Ezasekhaya e-Maponya Mall Thusong: AKUSEBENZI namuhla")


def test_up_and_slow_alert_no_one(seeded, centre):
    set_status(seeded, audit.CLI, centre, "HA", "slow", "queue", now=MORNING)
    set_status(seeded, audit.CLI, centre, "HA", "up", now=MORNING)
    assert alerts(seeded) == []


def test_a_status_set_back_in_time_and_already_expired_alerts_no_one(seeded, centre):
    set_status(seeded, audit.CLI, centre, "HA", "down", now=MORNING - timedelta(days=1))
    assert alerts(seeded) == []


def test_at_most_one_alert_per_office_per_day(seeded, centre):
    set_status(seeded, audit.CLI, centre, "HA", "down", "offline", now=MORNING)
    set_status(seeded, audit.CLI, centre, "HA", "up", now=MORNING + timedelta(hours=1))
    set_status(seeded, audit.CLI, centre, "HA", "down", "closed", now=MORNING + timedelta(hours=2))
    assert [p for p, _s, _t in alerts(seeded)].count(ALERTED) == 1
    set_status(seeded, audit.CLI, centre, "SASSA", "down", now=MORNING + timedelta(hours=2))  # another office: its own
    assert [p for p, _s, _t in alerts(seeded)].count(ALERTED) == 2
    tomorrow = MORNING + timedelta(days=1)
    seeded.clock._at = tomorrow
    set_status(seeded, audit.CLI, centre, "HA", "down", "offline", now=tomorrow)
    assert [p for p, _s, _t in alerts(seeded)].count(ALERTED) == 3


def test_two_setters_at_once_still_alert_once(seeded, centre):
    """The key, not a look-before-write, keeps it to one: two statuses queued in either order."""
    first = set_status(seeded, audit.CLI, centre, "HA", "down", "offline", now=MORNING)
    assert queue_down_alerts(seeded, first) == 0  # the same status queued again (a second setter's view)
    assert len(alerts(seeded)) == 2


def test_alerts_are_never_sent_to_a_number_that_said_stop(seeded, centre):
    set_status(seeded, audit.CLI, centre, "HA", "down", "offline", now=MORNING)
    with seeded.sessions.begin() as s:  # the first attempt failed and waits out its back-off
        s.execute(update(Message).where(Message.phone == ALERTED).values(status="retry", attempts=1))
    assert answer(seeded, ALERTED, parse("STOP"), "en")  # STOP arrives while it waits
    with seeded.sessions.begin() as s:
        s.execute(update(Message).where(Message.phone == ALERTED).values(status="queued"))
    sending.send_pending(seeded, jobs.QUEUE_BULK)
    assert sorted((p, st) for p, st, _t in alerts(seeded)) == [(ALERTED, "skipped"), (ZULU, "simulated")]
    set_status(seeded, audit.CLI, centre, "SASSA", "down", now=MORNING)
    assert ALERTED not in [p for p, _s, _t in alerts(seeded)][2:]  # nor written for it again


def test_quiet_hours_hold_broadcasts_not_alerts(seeded, centre, monkeypatch):
    later = (MORNING + timedelta(days=1), MORNING + timedelta(days=1, hours=1))
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BULK_SCHEDULE=fixed_windows_setting([later])))
    outbox.queue_bulk(seeded, [NOTICES_ONLY], "Clinic day Friday. Reply STOP to opt out", "bc-quiet")
    set_status(seeded, audit.CLI, centre, "HA", "down", "offline", now=MORNING)
    sending.send_pending(seeded, jobs.QUEUE_BULK)
    assert {st for _p, st, _t in alerts(seeded)} == {"simulated"}
    with seeded.sessions() as s:
        held = s.scalar(select(Message.status).where(Message.idempotency_key == f"bc-quiet:{NOTICES_ONLY}"))
    assert held == "queued"  # the broadcast waits for the window


def test_alerts_keyword_turns_alerts_on_and_off(seeded):
    cid = maponya(seeded)
    phone = "+27825551009"
    reply = answer(seeded, phone, parse("ALERTS Soweto"), "en")
    assert reply == ("You will get notices from Maponya Mall Thusong and an SMS when an office there is down. "
                     "Reply ALERTS OFF to stop alerts, STOP for all.")
    assert _alerts_on(seeded, phone, cid)
    assert answer(seeded, phone, parse("alerts off"), "en") == "You will get no more office alerts. Text ALERTS <place> to start again."
    assert not _alerts_on(seeded, phone, cid) and _subscribed(seeded, phone, cid)  # the notices go on
    assert answer(seeded, phone, parse("ALERTS"), "en").startswith("Text ALERTS <place> (e.g. ALERTS Soweto)")


def test_alerts_after_stop_lift_it_and_the_reply_says_so(seeded):
    maponya(seeded)
    phone = "+27825551010"
    answer(seeded, phone, parse("STOP"), "en")
    reply = answer(seeded, phone, parse("ALERTS Soweto"), "en")
    assert reply.startswith("Welcome back.") and measure(reply).segments <= 2
    assert not consent.is_opted_out(seeded, phone)


def test_the_ussd_subscribe_screen_offers_alerts(seeded, client):
    cid = maponya(seeded)
    phone = dial_to_centre(client, phone="+27825551011")
    phone.press("4")  # Get notices
    assert options(phone.screen)["3"] == "Alert me when an office is down", phone.screen
    assert phone.press("3").startswith("You will get notices from Maponya Mall Thusong and an SMS when an office there is down.")
    assert _alerts_on(seeded, "+27825551011", cid)
    with seeded.sessions() as s:
        sms = s.scalar(select(Message.text).where(Message.phone == "+27825551011", Message.direction == "out"))
    assert sms.startswith("You will get notices from Maponya Mall Thusong and an SMS when an office there is down.")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_alert_keeps_to_one_segment_in_every_language(lang):
    long_name = "Thusong Service Centre (Langeberg Municipality with a very long name indeed, launched 2006)"
    for office in ("HA", "SASSA", "UIF", "SARS", "POST", "GCIS", "HEALTH", "DSD", "JUSTICE", "MUNI"):
        for reason in (None, "offline", "queue", "closed", "no_forms", "training"):
            text = alert_text(lang, long_name, office, reason)
            assert measure(text).segments <= ALERT_SEGMENTS, text
            assert "ALERTS OFF" in text


def _alerts_on(rt, phone: str, cid: int) -> bool:
    return _subscription(rt, phone, cid).alerts_at is not None


def _subscribed(rt, phone: str, cid: int) -> bool:
    return _subscription(rt, phone, cid).ended_at is None


def _subscription(rt, phone: str, cid: int) -> Subscription:
    with rt.sessions() as s:
        return s.scalar(select(Subscription).join(Subscription.citizen).where(
            Subscription.centre_id == cid, Subscription.citizen.has(phone=phone)))
