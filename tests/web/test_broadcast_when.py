"""When a broadcast goes: the compose form takes the date as day, month by name, four-digit
year and 24-hour time (no browser's locale can turn 10/12 into 12 October), shows the time
asked for back in words with its year, refuses a time already past (on the page, in the live
preview, in the domain and on the command line), and answers any typed nonsense — year 9999
or 0001, 31 February, hour 24 — with a form error, never a 500. Through the Flask test client."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from gateway.cli import main
from gateway.clock import SAST, FrozenClock
from gateway.staff import broadcasts as bc
from gateway.store.models import Broadcast
from tests.broadcasting import add_subscribers, centre_id, send_checked

NOW = datetime(2026, 12, 10, 10, 0, 30, tzinfo=SAST)  # a Thursday
US_BROWSER = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture
def soweto(seeded, monkeypatch):
    monkeypatch.setattr(seeded, "clock", FrozenClock(NOW))
    centre = centre_id(seeded, "Soweto")
    add_subscribers(seeded, ["+27824000001", "+27824000002"], centre)
    return centre


def parts(day, month, year, time) -> dict:
    return {"at-day": str(day), "at-month": str(month), "at-year": str(year), "at-time": time}


def post(auth, centre, path="/staff/broadcasts/new", action="send", **fields):
    data = {"kind": "centre", "centres": [centre], "language": "", "message": "Clinic day.", "when": "at",
            "action": action, **fields}
    if action == "send" and path == "/staff/broadcasts/new":  # through the confirm page, as a person
        return send_checked(auth, data, headers=US_BROWSER)
    return auth.post(path, data, headers=US_BROWSER)


def stored(rt) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(Broadcast))


def test_the_form_asks_for_day_month_by_name_year_and_time_with_todays_date_filled(seeded, soweto, auth, client):
    auth.as_role("admin")
    page = client.get("/staff/broadcasts/new", headers=US_BROWSER).get_data(as_text=True)
    assert 'type="date' not in page and "datetime-local" not in page
    for part in ("day", "month", "year", "time"):
        assert f'name="at-{part}"' in page
    assert '<option value="12" selected>December</option>' in page and '<option value="10" selected>10</option>' in page
    assert 'name="at-year" ' in page and 'value="2026"' in page


def test_ten_december_is_ten_december_and_is_said_back_in_words(seeded, soweto, auth):
    auth.as_role("admin")
    fragment = post(auth, soweto, "/staff/broadcasts/preview", **parts(12, 12, 2026, "09:00")).get_data(as_text=True)
    assert 'data-testid="asked">Sat 12 Dec 2026 09:00 (South African time)' in fragment
    response = post(auth, soweto, **parts(10, 12, 2026, "14:30"))
    assert response.status_code == 302
    [row] = bc.list_broadcasts(seeded)
    assert bc.utc(row.scheduled_at) == datetime(2026, 12, 10, 12, 30, tzinfo=UTC)  # 14:30 SAST


@pytest.mark.parametrize("time, refused", [("09:59", True), ("10:00", False)], ids=["a-minute-ago", "this-minute"])
def test_a_send_time_already_past_is_refused_saying_so_and_nothing_is_stored(seeded, soweto, auth, time, refused):
    auth.as_role("admin")
    says = "the send time Thu 10 Dec 2026 09:59 has already passed (it is now Thu 10 Dec 2026 10:00"
    fragment = post(auth, soweto, "/staff/broadcasts/preview", **parts(10, 12, 2026, time)).get_data(as_text=True)
    page = post(auth, soweto, **parts(10, 12, 2026, time))
    if refused:
        assert says in fragment and 'data-testid="recipients"' not in fragment
        assert page.status_code == 200 and page.get_data(as_text=True).count(says) == 2  # the field and the preview
        assert stored(seeded) == 0
    else:
        assert page.status_code == 302 and stored(seeded) == 1


@pytest.mark.parametrize("fields, says", [
    (parts(1, 1, 9999, "09:00"), "Give the year in four digits, between 2000 and 2100."),
    (parts(1, 1, "0001", "09:00"), "Give the year in four digits, between 2000 and 2100."),
    (parts(1, 1, 26, "09:00"), "Give the year in four digits, between 2000 and 2100."),
    (parts(31, 2, 2027, "09:00"), "February 2027 has only 28 days."),
    (parts(31, 4, 2027, "09:00"), "April 2027 has only 30 days."),
    (parts(0, 1, 2027, "09:00"), "Choose the day."),
    (parts(1, 13, 2027, "09:00"), "Choose the month."),
    (parts(1, "", 2027, "09:00"), "Choose the month."),
    (parts(1, 1, 2027, "24:00"), "Give the time on the 24-hour clock"),
    (parts(1, 1, 2027, "9am"), "Give the time on the 24-hour clock"),
    (parts(1, 1, 2027, ""), "Give the time on the 24-hour clock"),
    (parts(1, 1, "20\x0027", "09:00"), "A field held a character that cannot be stored"),
    ({}, "Give the date and time to send at, or choose Send now."),
], ids=["year-9999", "year-0001", "year-26", "31-february", "31-april", "day-0", "month-13", "no-month",
        "hour-24", "9am", "no-time", "nul-in-year", "nothing"])
def test_an_impossible_date_or_time_is_a_form_error_never_a_500(seeded, soweto, auth, fields, says):
    auth.as_role("admin")
    for action in ("preview", "send"):
        page = post(auth, soweto, action=action, **fields)
        assert page.status_code == 200 and says in page.get_data(as_text=True)
    fragment = post(auth, soweto, "/staff/broadcasts/preview", **fields)
    # The live preview stores nothing; a NUL is dropped from what it shows back.
    assert fragment.status_code == 200
    assert says in fragment.get_data(as_text=True) or any("\x00" in str(v) for v in fields.values())
    assert stored(seeded) == 0


def test_with_send_now_the_date_fields_are_ignored(seeded, soweto, auth):
    auth.as_role("admin")
    assert post(auth, soweto, when="now", **parts(31, 2, 9999, "nonsense")).status_code == 302
    [row] = bc.list_broadcasts(seeded)
    assert bc.utc(row.scheduled_at) == NOW.replace(second=30).astimezone(UTC)


def test_the_domain_refuses_a_past_send_time(seeded, soweto):
    with pytest.raises(bc.BroadcastError, match="has already passed"):
        bc.create(seeded, bc.CLI, f"centre:{soweto}", "Hello", at=datetime(2026, 12, 10, 9, 59, tzinfo=SAST))
    with pytest.raises(bc.BroadcastError, match="0001 00:00 has already passed"):
        bc.create(seeded, bc.CLI, f"centre:{soweto}", "Hello", at=datetime.fromisoformat("0001-01-01T00:00+02:00"))
    assert stored(seeded) == 0


def test_the_command_line_refuses_a_past_at_clearly(seeded, settings):
    add_subscribers(seeded, ["+27824000001"], centre_id(seeded, "Soweto"))
    past = CliRunner().invoke(main, ["broadcast", "send", "--to", "all", "--message", "Hello",
                                     "--at", "2020-01-03T10:00", "--yes"], env=settings.as_environ())
    assert past.exit_code == 1, past.output
    assert "Error: the send time Fri 3 Jan 2020 10:00 has already passed" in past.output
    asked = CliRunner().invoke(main, ["broadcast", "send", "--to", "all", "--message", "Hello",
                                      "--at", "2020-01-03T10:00"], env=settings.as_environ(), input="y\n")
    assert "has already passed" in asked.output and "recipients?" not in asked.output  # refused before asking
    assert stored(seeded) == 0
