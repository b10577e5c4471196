"""Opening hours per weekday: the one grammar staff type, the CSV carries and the store keeps.

Contract: a day's hours are ``closed`` or one or two time ranges ``HH:MM-HH:MM`` joined by a
comma (``07:30-12:30,13:30-16:00``); empty means "not recorded". :func:`parse_day` accepts
what people type (``7:30 - 16:00``, ``Closed``, ``;`` between ranges) and returns the canonical
form or raises :class:`HoursError`. :func:`compact` turns a week into the short line USSD and
SMS show, days with equal hours grouped: ``Mon-Fri 07:30-16:00, Sat 08:00-12:00``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # the Centre columns are hours_<day>
DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CLOSED = "closed"
MAX_RANGES = 2  # a lunch break; more would not fit a USSD screen for a whole week
_RANGE = re.compile(r"^(\d{1,2})[:h.](\d{2})\s*-\s*(\d{1,2})[:h.](\d{2})$")


class HoursError(ValueError):
    """A day's hours do not follow the grammar (the message says what is wrong)."""


def _minutes(hour: str, minute: str, text: str) -> int:
    h, m = int(hour), int(minute)
    if h > 24 or m > 59 or (h == 24 and m):
        raise HoursError(f"{text!r}: not a time of day")
    return h * 60 + m


def parse_day(text: str | None) -> str | None:
    """Canonical hours for one day: ``None`` (not recorded), ``"closed"`` or the ranges."""
    text = (text or "").strip()
    if not text:
        return None
    if text.lower() == CLOSED:
        return CLOSED
    ranges = []
    last_end = -1
    for part in re.split(r"\s*[,;&]\s*", text):
        match = _RANGE.match(part)
        if match is None:
            raise HoursError(f"{part!r}: write hours as HH:MM-HH:MM, or 'closed'")
        start = _minutes(match[1], match[2], part)
        end = _minutes(match[3], match[4], part)
        if end <= start:
            raise HoursError(f"{part!r}: closes before it opens")
        if start < last_end:
            raise HoursError(f"{text!r}: ranges overlap or are out of order")
        last_end = end
        ranges.append(f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}")
    if len(ranges) > MAX_RANGES:
        raise HoursError(f"{text!r}: at most {MAX_RANGES} ranges a day")
    return ",".join(ranges)


def week_of(centre) -> tuple[str | None, ...]:
    """A centre row's seven ``hours_<day>`` values, Monday first."""
    return tuple(getattr(centre, f"hours_{day}") for day in DAYS)


def _day_runs(days: list[int]) -> str:
    """[0, 1, 2, 4] → 'Mon-Wed,Fri'."""
    runs: list[list[int]] = []
    for d in days:
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ",".join(DAY_LABELS[r[0]] if len(r) == 1 else f"{DAY_LABELS[r[0]]}-{DAY_LABELS[r[-1]]}" for r in runs)


def compact(week: Sequence[str | None]) -> str | None:
    """The week (seven canonical values, Monday first) as one short line; closed and
    unrecorded days are left out. ``None`` when no day is recorded, ``"closed"`` when every
    recorded day is closed."""
    groups: dict[str, list[int]] = {}
    for day, hours in enumerate(week):
        if hours:
            groups.setdefault(hours, []).append(day)
    if not groups:
        return None
    open_groups = [(days, hours) for hours, days in groups.items() if hours != CLOSED]
    if not open_groups:
        return CLOSED
    return ", ".join(f"{_day_runs(days)} {hours}" for days, hours in sorted(open_groups))
