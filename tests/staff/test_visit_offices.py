"""Offices on service visits: a new visit picks an office (or "other" with the service typed as
before); citizens see an office's visit under the office's name in their language (USSD details,
the CENTRE reply); visits registered before keep their free-text service."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from gateway.clock import SAST, FrozenClock
from gateway.dialogue.offices import CODES
from gateway.sms import consent
from gateway.staff import broadcasts as bc
from gateway.staff import visits
from gateway.store.models import Office, Visit
from menus.catalogue import LANGUAGES, Catalogues
from menus.ports import Visit as Fact
from menus.segments import is_gsm7
from menus.visits import coming_up_line, short_day
from tests.broadcasting import centre_id, ordinary_day
from tests.directory.test_visits_shown import PHONE, _centre_reply, _details_lines, _dial_in


def _day(rt) -> date:
    return ordinary_day(rt, centre_id(rt, "Soweto"), (datetime.now(SAST) + timedelta(days=3)).date())


@pytest.fixture
def home_affairs(seeded):
    """An approved Home Affairs visit to Maponya Mall Thusong, registered with the office picked."""
    details = visits.check(seeded, "", _day(seeded), time(9), time(14), office="ha")
    assert (details.service, details.office) == ("Home Affairs", "HA")
    row = visits.create(seeded, bc.CLI, centre_id(seeded, "Soweto"), details)
    assert row.status == "approved"
    return row


def test_an_office_s_visit_stores_the_office(seeded, home_affairs):
    with seeded.sessions() as s:
        code = s.scalar(select(Office.code).join(Visit, Visit.office_id == Office.id).where(Visit.id == home_affairs.id))
    assert code == "HA" and home_affairs.service == "Home Affairs"


def test_other_keeps_the_typed_service_and_an_unknown_office_is_refused(seeded):
    other = visits.check(seeded, "Mobile clinic", _day(seeded), time(9), time(14))
    assert (other.service, other.office) == ("Mobile clinic", None)
    with pytest.raises(visits.VisitError, match="unknown office 'XYZ'"):
        visits.check(seeded, "", _day(seeded), time(9), time(14), office="XYZ")


@pytest.mark.parametrize("lang", ["zu", "af", "ve"])
def test_citizens_see_the_office_in_their_language(seeded, client, home_affairs, lang):
    consent.set_language(seeded, PHONE, lang)
    cats = Catalogues.load()
    expected = f"{cats.text(lang, 'centre.coming_up')}: {cats.text(lang, 'office.HA')} {short_day(home_affairs.day, lang)} 09:00-14:00"
    assert expected in _dial_in(client, lang)


def test_the_centre_reply_names_the_office(seeded, home_affairs):
    consent.set_language(seeded, PHONE, "zu")
    reply = _centre_reply(seeded, "ISIKHUNGO Soweto", "ATXid_visit_office_1")
    assert f"Ezasekhaya {short_day(home_affairs.day, 'zu')} 09:00-14:00" in reply, reply


def test_a_visit_registered_before_offices_keeps_its_text(seeded, client, home_affairs):
    with seeded.sessions.begin() as s:  # as migration 0020 leaves an older visit: no office
        s.execute(update(Visit).where(Visit.id == home_affairs.id).values(office_id=None, service="HA mobile unit"))
    seeded.directory.changed()
    assert _details_lines(client)[-1] == f"Coming up: HA mobile unit {short_day(home_affairs.day, 'en')} 09:00-14:00"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_office_s_name_keeps_the_coming_up_line_in_gsm7(lang):
    for code in CODES:
        line = coming_up_line([Fact("x", date(2026, 12, 1), time(9), time(14), code)], lang)
        assert is_gsm7(line) and Catalogues.load().text(lang, f"office.{code}") in line, line


def test_the_web_form_picks_an_office(seeded, client, auth, monkeypatch):
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BULK_SCHEDULE=""))
    monkeypatch.setattr(seeded, "clock", FrozenClock(datetime(2026, 12, 3, 10, 0, tzinfo=SAST)))
    auth.as_role("admin")
    form = client.get("/staff/visits/new").get_data(as_text=True)
    assert 'name="office"' in form and "Other (name it below)" in form and ">Home Affairs<" in form
    soweto = centre_id(seeded, "Soweto")
    data = {"centre": soweto, "office": "SASSA", "service": "", "day": "2026-12-07", "starts": "09:00", "ends": "14:00"}
    assert auth.post("/staff/visits/new", data).status_code == 302
    with seeded.sessions() as s:
        row, code = s.execute(select(Visit, Office.code).join(Office, Office.id == Visit.office_id)).one()
    assert (row.service, code) == ("SASSA", "SASSA")
    page = client.get("/staff/visits/new")
    empty = auth.post("/staff/visits/new", {**data, "office": "", "service": ""}).get_data(as_text=True)
    assert "Name the service." in empty and page.status_code == 200
