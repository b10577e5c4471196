"""Working time (08:00-16:30 SAST, Monday to Friday, minus ZA public holidays — the calendar
quiet hours use): hours between two instants and N working days later, as labelled rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.clock import SAST
from gateway.sms.working_time import add_working_days, add_working_hours, working_hours


def at(day: str, hhmm: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=SAST)


HOURS = [
    # label, start, end, working hours
    ("same morning", at("2026-03-02", "09:00"), at("2026-03-02", "11:30"), 2.5),
    ("before opening counts from 08:00", at("2026-03-02", "06:00"), at("2026-03-02", "09:00"), 1.0),
    ("after closing counts nothing", at("2026-03-02", "17:00"), at("2026-03-02", "23:00"), 0.0),
    ("one whole day", at("2026-03-02", "08:00"), at("2026-03-03", "08:00"), 8.5),
    ("weekend skipped", at("2026-03-06", "16:00"), at("2026-03-09", "09:00"), 1.5),
    ("the whole weekend is nothing", at("2026-03-07", "08:00"), at("2026-03-08", "20:00"), 0.0),
    ("Good Friday and Family Day skipped", at("2026-04-02", "16:00"), at("2026-04-07", "09:00"), 1.5),
    ("Christmas (Fri) and the weekend skipped", at("2026-12-24", "16:00"), at("2026-12-28", "09:00"), 1.5),
    ("Women's Day on a Sunday moves to Monday", at("2026-08-07", "16:00"), at("2026-08-11", "09:00"), 1.5),
    ("election day (one-off) skipped", at("2026-11-03", "16:00"), at("2026-11-05", "09:00"), 1.5),
    ("end before start", at("2026-03-03"), at("2026-03-02"), 0.0),
    ("UTC instants", datetime(2026, 3, 2, 6, 0, tzinfo=UTC), datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 3.0),
]


@pytest.mark.parametrize("start, end, hours", [row[1:] for row in HOURS], ids=[row[0] for row in HOURS])
def test_working_hours(start, end, hours):
    assert working_hours(start, end) == pytest.approx(hours)


DAYS = [
    # label, from, working days, due
    ("Monday + 2 is Wednesday, same time", at("2026-03-02", "10:00"), 2, at("2026-03-04", "10:00")),
    ("Thursday + 2 is Monday", at("2026-03-05", "10:00"), 2, at("2026-03-09", "10:00")),
    # Counted from Monday 08:00; due at the close of the last working day, not the next opening.
    ("Friday evening counts from Monday", at("2026-03-06", "18:00"), 2, at("2026-03-10", "16:30")),
    ("Saturday counts from Monday", at("2026-03-07", "11:00"), 1, at("2026-03-09", "16:30")),
    ("over Good Friday and Family Day", at("2026-04-02", "10:00"), 2, at("2026-04-08", "10:00")),
    ("over Christmas and the Day of Goodwill", at("2026-12-24", "10:00"), 2, at("2026-12-29", "10:00")),
    ("over a Sunday holiday observed on Monday", at("2026-08-07", "10:00"), 2, at("2026-08-12", "10:00")),
    ("at closing time is the next day's close", at("2026-03-02", "16:30"), 1, at("2026-03-03", "16:30")),
]


@pytest.mark.parametrize("start, days, due", [row[1:] for row in DAYS], ids=[row[0] for row in DAYS])
def test_add_working_days(start, days, due):
    assert add_working_days(start, days) == due
    assert working_hours(start, due) == pytest.approx(days * 8.5)


def test_zero_hours_is_now_inside_office_hours_and_the_next_opening_outside():
    assert add_working_hours(at("2026-03-02", "10:00"), 0) == at("2026-03-02", "10:00")
    assert add_working_hours(at("2026-03-07", "10:00"), 0) == at("2026-03-09", "08:00")


def test_naive_times_and_negative_hours_are_refused():
    with pytest.raises(ValueError):
        working_hours(datetime(2026, 3, 2, 9), at("2026-03-02"))
    with pytest.raises(ValueError):
        add_working_hours(at("2026-03-02"), -1)
