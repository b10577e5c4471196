"""The quiet-hours rule as a pure function of injected times (CPA regulation 4)."""

from datetime import datetime, timedelta

import pytest

from gateway.sms.quiet_hours import (
    SAST,
    ScheduleError,
    fixed_windows_setting,
    is_allowed,
    next_allowed,
    schedule_from_setting,
    window_end,
)


def sast(*args) -> datetime:
    return datetime(*args, tzinfo=SAST)


CASES = [
    # (t, next allowed moment)
    ("weekday-inside", sast(2026, 12, 1, 10, 0), sast(2026, 12, 1, 10, 0)),
    ("weekday-before-08", sast(2026, 12, 1, 7, 59, 59), sast(2026, 12, 1, 8, 0)),
    ("weekday-08:00-opens", sast(2026, 12, 1, 8, 0), sast(2026, 12, 1, 8, 0)),
    ("weekday-19:59", sast(2026, 12, 1, 19, 59), sast(2026, 12, 1, 19, 59)),
    ("weekday-20:00-closed", sast(2026, 12, 1, 20, 0), sast(2026, 12, 2, 8, 0)),
    ("friday-night-to-saturday-09", sast(2026, 12, 4, 21, 0), sast(2026, 12, 5, 9, 0)),
    ("saturday-08:59", sast(2026, 12, 5, 8, 59), sast(2026, 12, 5, 9, 0)),
    ("saturday-09:00", sast(2026, 12, 5, 9, 0), sast(2026, 12, 5, 9, 0)),
    ("saturday-12:59", sast(2026, 12, 5, 12, 59), sast(2026, 12, 5, 12, 59)),
    ("saturday-13:00-closed", sast(2026, 12, 5, 13, 0), sast(2026, 12, 7, 8, 0)),
    ("saturday-13:30-to-monday", sast(2026, 12, 5, 13, 30), sast(2026, 12, 7, 8, 0)),
    ("sunday", sast(2026, 12, 6, 11, 0), sast(2026, 12, 7, 8, 0)),
    ("christmas-day", sast(2026, 12, 25, 10, 0), sast(2026, 12, 28, 8, 0)),  # Fri 25, Sat 26 Goodwill, Sun
    ("new-year", sast(2027, 1, 1, 9, 0), sast(2027, 1, 2, 9, 0)),  # Friday holiday → Saturday 09:00
    # A holiday on a Sunday makes the Monday a holiday too (Public Holidays Act s2(1)).
    ("holiday-on-sunday-closes-monday", sast(2029, 12, 16, 10, 0), sast(2029, 12, 18, 8, 0)),
    ("freedom-day-sunday-2031", sast(2031, 4, 27, 10, 0), sast(2031, 4, 29, 8, 0)),
    ("one-off-election-day-2024", sast(2024, 5, 29, 9, 0), sast(2024, 5, 30, 8, 0)),
    ("freedom-day-observed-monday", sast(2031, 4, 28, 8, 0), sast(2031, 4, 29, 8, 0)),
]


@pytest.mark.parametrize("t, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_next_allowed(t, expected):
    assert next_allowed(t) == expected
    assert is_allowed(t) == (t == expected)


def test_utc_times_are_read_in_johannesburg_time():
    from datetime import UTC

    assert next_allowed(datetime(2026, 12, 1, 5, 0, tzinfo=UTC)) == sast(2026, 12, 1, 8, 0)  # 07:00 SAST
    assert is_allowed(datetime(2026, 12, 1, 6, 0, tzinfo=UTC))  # 08:00 SAST


@pytest.mark.parametrize("t, end", [
    (sast(2026, 12, 1, 10, 0), sast(2026, 12, 1, 20, 0)),
    (sast(2026, 12, 5, 10, 0), sast(2026, 12, 5, 13, 0)),
    (sast(2026, 12, 5, 14, 0), sast(2026, 12, 7, 20, 0)),  # closed now: the end of the next window
], ids=["weekday", "saturday", "after-saturday-window"])
def test_window_end(t, end):
    assert window_end(t) == end


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        next_allowed(datetime(2026, 12, 1, 10, 0))


def test_a_fixed_schedule_from_the_setting():
    now = sast(2026, 12, 6, 12, 0)  # a Sunday: the fixed schedule replaces the rule
    value = fixed_windows_setting([(now, now + timedelta(seconds=5)),
                                   (now + timedelta(seconds=10), now + timedelta(hours=1))])
    schedule = schedule_from_setting(value)
    assert next_allowed(now, schedule) == now
    assert window_end(now, schedule) == now + timedelta(seconds=5)
    assert next_allowed(now + timedelta(seconds=5), schedule) == now + timedelta(seconds=10)
    with pytest.raises(ScheduleError):
        next_allowed(now + timedelta(hours=2), schedule)


@pytest.mark.parametrize("value", ["tomorrow", "2026-12-01T08:00/2026-12-01T20:00",
                                   "2026-12-01T20:00+02:00/2026-12-01T08:00+02:00"],
                         ids=["not-iso", "no-offset", "end-before-start"])
def test_a_bad_schedule_setting_is_refused(value):
    with pytest.raises(ScheduleError):
        schedule_from_setting(value)
