"""Upcoming service visits as citizens see them: the USSD centre details ("Coming up: SASSA
Tue 3 Dec 09:00-14:00") and the SMS reply to CENTRE, in every language, within the screen
and segment budgets; gone once over, cancelled or replaced."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from gateway.channels.africastalking import InboundSms
from gateway.clock import SAST, FrozenClock
from gateway.sms import consent, inbound
from gateway.staff import broadcasts as bc
from gateway.staff import visit_cancel, visits
from gateway.store.models import Message
from menus.catalogue import LANGUAGES, Catalogues
from menus.keywords import REPLY_SEGMENTS, nearest_reply
from menus.ports import Visit
from menus.render import fits
from menus.segments import is_gsm7, measure
from menus.visits import coming_up_line, short_day
from tests.broadcasting import centre_id, ordinary_day
from tests.dialer import Dialer
from tests.ussd.test_journeys import all_pages, body, choose, dial_to_centre, en

SASSA = Visit("SASSA", date(2026, 12, 1), time(9), time(14))
LONG = Visit("Home Affairs mobile unit", date(2026, 12, 2), time(8, 30), time(15, 30))


def test_short_day_speaks_every_language_in_gsm7():
    days = {lang: short_day(SASSA.day, lang) for lang in LANGUAGES}
    assert days["en"] == "Tue 1 Dec" and days["af"] == "Di. 1 Des." and days["zu"] == "Bil 1 Dis"
    assert all(is_gsm7(d) and "1" in d for d in days.values()), days
    assert len(set(days.values())) >= 8  # CLDR's names, not English everywhere


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_coming_up_line_exists_in_every_language(lang):
    line = coming_up_line([SASSA, LONG], lang)
    label = Catalogues.load().text(lang, "centre.coming_up")
    assert label and line.startswith(f"{label}: SASSA ") and "09:00-14:00" in line and "Home Affairs" in line
    assert is_gsm7(line)
    assert coming_up_line([], lang) == ""


def _centre(visits_: list[Visit]) -> dict:
    return {"name": "Maponya Mall Thusong Service Centre (launched 2007 as the Soweto Multi-Purpose Community Centre)",
            "town": "Soweto", "phone": "011 938 1234", "distance_km": 2.4, "coming_up": tuple(visits_)}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_centre_reply_keeps_the_nearest_centres_visit_within_two_segments(lang):
    far = [dict(_centre([LONG]), name=f"Kagiso Thusong Service Centre {n} (Mogale City Local Municipality)",
                distance_km=20.0 + n) for n in range(2)]
    text = nearest_reply(lang, "Soweto", [_centre([SASSA, LONG]), *far])
    assert measure(text).segments <= REPLY_SEGMENTS
    label = Catalogues.load().text(lang, "centre.coming_up")
    assert f"{label}: SASSA {short_day(SASSA.day, lang)} 09:00-14:00" in text.splitlines()[2], text


def test_the_centre_reply_without_visits_is_unchanged():
    plain = _centre([])
    assert nearest_reply("en", "Soweto", [plain]) == nearest_reply("en", "Soweto", [dict(plain, coming_up=())])
    assert "Coming up" not in nearest_reply("en", "Soweto", [plain])


# --- through the webhooks, from the database ----------------------------------------------------

PHONE = "+27821234567"


@pytest.fixture
def approved(seeded):
    """An approved SASSA visit to Maponya Mall Thusong three days from now."""
    day = ordinary_day(seeded, centre_id(seeded, "Soweto"), (datetime.now(SAST) + timedelta(days=3)).date())
    row = visits.create(seeded, bc.CLI, centre_id(seeded, "Soweto"), visits.check(seeded, "SASSA", day, time(9), time(14)))
    assert row.status == "approved"
    return row


def _details_lines(client, phone: str = PHONE) -> list[str]:
    p = dial_to_centre(client, phone=phone)
    choose(p, en("centre.details"))
    pages = all_pages(p)
    assert all(fits(page) for page in pages)
    return [line for page in pages for line in body(page).splitlines()]


def test_ussd_centre_details_show_the_coming_visit_then_not_once_cancelled(approved, client, seeded):
    expected = f"Coming up: SASSA {short_day(approved.day, 'en')} 09:00-14:00"
    assert _details_lines(client)[-1] == expected
    visit_cancel.cancel(seeded, bc.CLI, approved.id, "The unit broke down")
    assert not any(line.startswith("Coming up") for line in _details_lines(client, "+27821234568"))


@pytest.mark.parametrize("lang", ["zu", "af", "ve"])
def test_ussd_centre_details_in_the_callers_language(approved, client, seeded, lang):
    consent.set_language(seeded, PHONE, lang)
    pages = _dial_in(client, lang)
    label = Catalogues.load().text(lang, "centre.coming_up")
    assert f"{label}: SASSA {short_day(approved.day, lang)} 09:00-14:00" in pages, pages


def _dial_in(client, lang: str) -> str:
    """The centre details pages, for a caller whose language is ``lang``, as one text."""
    cats = Catalogues.load()
    p = Dialer(client, phone=PHONE)
    p.dial()
    choose(p, cats.text(lang, "main.find"))
    p.press("Soweto")
    choose(p, "Maponya")
    choose(p, cats.text(lang, "centre.details"))
    more = cats.text(lang, "nav.more")
    pages = [p.screen]
    while more in p.screen.splitlines():
        p.press("98")
        pages.append(p.screen)
    assert all(fits(page) for page in pages)
    return "\n".join(pages)


def test_a_visit_that_is_over_is_not_shown(approved, client, seeded, monkeypatch):
    after = datetime.combine(approved.day, time(14, 1), SAST)
    monkeypatch.setattr(seeded, "clock", FrozenClock(after))
    assert not any(line.startswith("Coming up") for line in _details_lines(client))


def _centre_reply(rt, text: str, at_id: str) -> str:
    assert inbound.store(rt, InboundSms(at_id, PHONE, "31234", text, None, None, None))
    with rt.sessions() as s:
        message_id = s.scalar(select(Message.id).where(Message.at_message_id == at_id, Message.direction == "in"))
    inbound.process(rt, message_id)
    with rt.sessions() as s:
        return s.scalars(select(Message.text).where(Message.direction == "out").order_by(Message.id.desc())).first()


def test_the_sms_reply_to_centre_names_the_coming_visit(approved, seeded):
    reply = _centre_reply(seeded, "CENTRE Soweto", "ATXid_visit_1")
    lines = reply.splitlines()
    at = next(i for i, line in enumerate(lines) if "Maponya Mall Thusong" in line)
    assert lines[at + 1] == f"Coming up: SASSA {short_day(approved.day, 'en')} 09:00-14:00", reply
    assert measure(reply).segments <= REPLY_SEGMENTS
