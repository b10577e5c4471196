"""Working time: the hours a centre's staff are at work, for promises to citizens ("an answer
within 2 working days") and the age of what waits for them.

Contract (pure; times are injected, never read here): :data:`OFFICE` is 08:00–16:30
Africa/Johannesburg, Monday to Friday, minus South African public holidays — the same
calendar as bulk quiet hours (:class:`gateway.sms.quiet_hours.WeeklySchedule`: the
``holidays`` package's ZA days, its Sunday→Monday rule and one-off days included).
:func:`working_hours` counts the working hours between two instants (0 when the end is not
after the start); :func:`add_working_hours` gives the instant that many working hours after
``t`` (time outside office hours does not count, so Friday 18:00 + 1 h is Monday 09:00);
:func:`add_working_days` adds whole working days of :data:`DAY_HOURS` (Monday 10:00 + 2 is
Wednesday 10:00). Every ``t`` must be timezone-aware.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from gateway.sms.quiet_hours import ScheduleError, WeeklySchedule

OPENS, CLOSES = time(8), time(16, 30)
OFFICE = WeeklySchedule({day: (OPENS, CLOSES) for day in range(5)})
DAY_HOURS = 8.5  # one working day of OFFICE


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("working time needs an aware datetime")
    return t


def working_hours(start: datetime, end: datetime, schedule: WeeklySchedule = OFFICE) -> float:
    """Working hours from ``start`` to ``end`` (0.0 when ``end`` is not after ``start``)."""
    _aware(start), _aware(end)
    total = timedelta()
    for opens, closes in schedule.windows_from(start):
        if opens >= end:
            break
        total += min(closes, end) - max(opens, start)
    return max(total, timedelta()).total_seconds() / 3600


def add_working_hours(t: datetime, hours: float, schedule: WeeklySchedule = OFFICE) -> datetime:
    """The instant ``hours`` working hours after ``t`` (``hours`` ≥ 0). With 0, ``t`` itself
    when inside office hours, else the next opening."""
    left = timedelta(hours=hours)
    if left < timedelta():
        raise ValueError("hours must not be negative")
    for opens, closes in schedule.windows_from(_aware(t)):
        start = max(opens, t)
        if start + left <= closes:
            return (start + left).astimezone(t.tzinfo)  # in the caller's zone, as given
        left -= closes - start
    raise ScheduleError(f"no working time after {t.isoformat()}")


def add_working_days(t: datetime, days: int, schedule: WeeklySchedule = OFFICE) -> datetime:
    """``days`` whole working days after ``t`` (see the module's contract)."""
    return add_working_hours(t, days * DAY_HOURS, schedule)
