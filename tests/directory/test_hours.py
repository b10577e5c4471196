"""Opening hours per weekday: the grammar staff type and the CSV carries, and the compact line
USSD and SMS show."""

import pytest

from gateway.directory.hours import HoursError, compact, parse_day


@pytest.mark.parametrize("typed, canonical", [
    ("", None),
    ("   ", None),
    (None, None),
    ("closed", "closed"),
    (" Closed ", "closed"),
    ("07:30-16:00", "07:30-16:00"),
    ("7:30 - 16:00", "07:30-16:00"),
    ("7h30-16h00", "07:30-16:00"),
    ("08:00-12:30, 13:30-16:00", "08:00-12:30,13:30-16:00"),
    ("08:00-12:30;13:30-16:00", "08:00-12:30,13:30-16:00"),
    ("00:00-24:00", "00:00-24:00"),
], ids=["empty", "blank", "none", "closed", "closed-caps", "plain", "short-hour-spaces", "h-separator",
        "split-comma", "split-semicolon", "all-day"])
def test_parse_day_accepts(typed, canonical):
    assert parse_day(typed) == canonical


@pytest.mark.parametrize("typed, why", [
    ("8am-4pm", "HH:MM-HH:MM"),
    ("16:00-08:00", "closes before it opens"),
    ("25:00-26:00", "not a time of day"),
    ("08:60-09:00", "not a time of day"),
    ("13:00-16:00,08:00-12:00", "out of order"),
    ("08:00-10:00,10:30-12:00,13:00-16:00", "at most 2"),
    ("open", "HH:MM-HH:MM"),
], ids=["am-pm", "backwards", "hour-25", "minute-60", "out-of-order", "three-ranges", "word"])
def test_parse_day_refuses(typed, why):
    with pytest.raises(HoursError, match=why):
        parse_day(typed)


W = "07:30-16:00"


@pytest.mark.parametrize("week, line", [
    ((None,) * 7, None),
    ((W, W, W, W, W, "08:00-12:00", "closed"), "Mon-Fri 07:30-16:00, Sat 08:00-12:00"),
    ((W, W, W, W, W, None, None), "Mon-Fri 07:30-16:00"),
    ((W, W, "closed", W, W, None, None), "Mon-Tue,Thu-Fri 07:30-16:00"),
    (("closed",) * 7, "closed"),
    ((None, None, None, None, None, "09:00-13:00", "09:00-13:00"), "Sat-Sun 09:00-13:00"),
    (("08:00-12:30,13:30-16:00",) * 5 + (None, None), "Mon-Fri 08:00-12:30,13:30-16:00"),
], ids=["unrecorded", "weekdays-saturday", "weekdays", "closed-midweek", "all-closed", "weekend", "lunch-break"])
def test_compact(week, line):
    assert compact(week) == line
