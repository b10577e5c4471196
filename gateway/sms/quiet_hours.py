"""When bulk SMS may go out (Consumer Protection Act regulation 4): never on Sundays or South
African public holidays, Saturdays 09:00–13:00, other days 08:00–20:00, Africa/Johannesburg.

Contract (pure; times are injected, never read here): :func:`next_allowed` gives the first
moment at or after ``t`` when bulk may be sent (``t`` itself inside a window);
:func:`window_end` the moment that window closes. A schedule is data: :data:`CPA` (weekday
windows, closed days from the ``holidays`` package — its Sunday→Monday rule and one-off days
such as election days included), or a :class:`FixedWindows` list of absolute windows, which
the ``BULK_SCHEDULE`` setting supplies for end-to-end tests and operations only (separate
worker processes cannot share a frozen clock). Replies to a citizen are not bulk: nothing
here applies to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from gateway.clock import SAST

HORIZON_DAYS = 400  # a schedule with no window this far ahead is an error, not a wait


class ScheduleError(ValueError):
    """A schedule has no window ahead, or ``BULK_SCHEDULE`` cannot be read."""


class PublicHolidays:
    """A country's public holidays (the ``holidays`` package's, its Sunday→Monday rule and
    one-off days included), shared by every thread of a process. Each year is worked out whole
    on a calendar of its own and only then published: the package's shared calendar fills a
    year on first look, marking the year done before its days are in and filling with the year
    it is on, so a thread looking meanwhile found no holiday that year, and two years filled at
    once lost one's holidays for good. Two threads may both work out a year: the same answer."""

    def __init__(self, country: str = "ZA"):
        self.country = country
        self._years: dict[int, dict[date, str]] = {}

    def name(self, day: date) -> str | None:
        """The holiday's name, or None on an ordinary day."""
        return self._year(day.year).get(day)

    def __contains__(self, day: date) -> bool:
        return day in self._year(day.year)

    def _year(self, year: int) -> dict[date, str]:
        found = self._years.get(year)
        if found is None:
            found = self._years.setdefault(year, dict(holidays.country_holidays(self.country, years=year)))
        return found


@dataclass(frozen=True)
class WeeklySchedule:
    """Local opening hours per weekday (Monday = 0; absent = closed) minus public holidays."""

    hours: dict[int, tuple[time, time]]
    country: str = "ZA"
    tz: ZoneInfo = SAST
    _closed: PublicHolidays = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_closed", PublicHolidays(self.country))

    def is_closed_day(self, day: date) -> bool:
        return day.weekday() not in self.hours or day in self._closed

    def windows_from(self, t: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open windows (start, end), in order, that end after ``t``."""
        first = t.astimezone(self.tz).date()
        for offset in range(HORIZON_DAYS):
            day = first + timedelta(days=offset)
            if self.is_closed_day(day):
                continue
            opens, closes = self.hours[day.weekday()]
            start = datetime.combine(day, opens, self.tz)
            end = datetime.combine(day, closes, self.tz)
            if end > t:
                yield start, end


@dataclass(frozen=True)
class FixedWindows:
    """Absolute windows (aware datetimes, sorted); outside them bulk waits (test/ops only)."""

    windows: tuple[tuple[datetime, datetime], ...]

    def windows_from(self, t: datetime) -> Iterator[tuple[datetime, datetime]]:
        return ((s, e) for s, e in self.windows if e > t)


CPA = WeeklySchedule({
    0: (time(8), time(20)), 1: (time(8), time(20)), 2: (time(8), time(20)), 3: (time(8), time(20)),
    4: (time(8), time(20)), 5: (time(9), time(13)),
})


def _window(t: datetime, schedule) -> tuple[datetime, datetime]:
    if t.tzinfo is None:
        raise ValueError("quiet hours need an aware datetime")
    for start, end in schedule.windows_from(t):
        return start, end
    raise ScheduleError(f"no bulk window after {t.isoformat()}")


def next_allowed(t: datetime, schedule=CPA) -> datetime:
    """The first moment at or after ``t`` when bulk SMS may be sent (``t`` if allowed now)."""
    start, _end = _window(t, schedule)
    return max(start, t)


def window_end(t: datetime, schedule=CPA) -> datetime:
    """When the window that :func:`next_allowed` (``t``) falls in closes."""
    return _window(t, schedule)[1]


def is_allowed(t: datetime, schedule=CPA) -> bool:
    return next_allowed(t, schedule) == t


def schedule_from_setting(value: str):
    """The schedule ``BULK_SCHEDULE`` names: empty → :data:`CPA`; otherwise comma-separated
    ISO 8601 windows ``START/END`` with offsets, e.g. ``2026-11-30T08:00+02:00/2026-11-30T20:00+02:00``."""
    if not value.strip():
        return CPA
    windows = []
    for part in value.split(","):
        try:
            start, end = (datetime.fromisoformat(x.strip()) for x in part.split("/"))
        except ValueError:
            raise ScheduleError(f"BULK_SCHEDULE: not START/END in ISO 8601: {part!r}") from None
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise ScheduleError(f"BULK_SCHEDULE: a window needs offsets and END after START: {part!r}")
        windows.append((start, end))
    return FixedWindows(tuple(sorted(windows)))


def fixed_windows_setting(windows: list[tuple[datetime, datetime]]) -> str:
    """The ``BULK_SCHEDULE`` value for ``windows`` (tests and operations)."""
    return ",".join(f"{s.isoformat()}/{e.isoformat()}" for s, e in windows)
