"""How the dashboard writes times, money and counts: the South African way, the same on every
page (Jinja filters registered by :func:`gateway.web.staff.register_dashboard`).

- times in SAST and labelled: ``Mon 7 Dec 2026 10:00 SAST`` (:func:`sast`), a day alone as
  ``Mon 7 Dec 2026`` (:func:`day`); a naive ``datetime`` is UTC, as the database keeps it;
- money in rand with a space between thousands and a decimal point: ``R1 234.50`` (:func:`rand`);
- counts with a space between thousands: ``12 345`` (:func:`count`);
- an analytics cell by its column: ``Cost (R)`` as money, whole numbers as counts, ISO days and
  months under ``Day`` and ``Period`` in words (:func:`cell`).

The digits come from Babel (CLDR); the separators are fixed here because South African
government writing uses the point for decimals, where CLDR's en_ZA uses the comma.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from gateway.clock import SAST

_DAY = "EEE d MMM y"


def _local(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(SAST)


def sast(moment: datetime | None, seconds: bool = False) -> str:
    """``Mon 7 Dec 2026 10:00 SAST`` (``10:00:05`` with ``seconds``); None is empty."""
    if moment is None:
        return ""
    return format_datetime(_local(moment), f"{_DAY} HH:mm{':ss' if seconds else ''}", locale="en") + " SAST"


def day(value: date | datetime | None) -> str:
    """``Mon 7 Dec 2026``: a date as is, a time by its SAST day; None is empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()
    return format_date(value, _DAY, locale="en")


def _spaced(text: str) -> str:
    return text.replace(",", " ")  # Babel's "en" groups with commas; ours are spaces


def rand(amount: float | int | None) -> str:
    """``R1 234.50``; a negative amount ``-R12.00``; None is empty."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}R{_spaced(format_decimal(abs(amount), format='#,##0.00', locale='en'))}"


def count(n: int | float | None) -> str:
    """``12 345`` (a fraction keeps one decimal: ``1 234.5``); None is empty."""
    if n is None:
        return ""
    pattern = "#,##0" if float(n).is_integer() else "#,##0.0"
    return _spaced(format_decimal(n, format=pattern, locale="en"))


CALENDAR_COLUMNS = ("Day", "Period")  # analytics columns holding 2026-12-07 or 2026-12


def cell(value, column: str = ""):
    """An analytics table cell by its column: money where the column is in rand (``(R)``),
    numbers as counts, a day under ``Day`` or ``Period`` as ``Mon 7 Dec 2026`` and a month
    (``2026-12``) as ``Dec 2026``, anything else as it is (the CSVs keep ISO dates)."""
    if column in CALENDAR_COLUMNS and isinstance(value, str):
        return calendar(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return rand(value) if "(R)" in column else count(value)


def calendar(text: str) -> str:
    """``2026-12-07`` as ``Mon 7 Dec 2026``, ``2026-12`` as ``Dec 2026``; other text as it is."""
    try:
        if len(text) == 7:
            return format_date(date.fromisoformat(f"{text}-01"), "MMM y", locale="en")
        return day(date.fromisoformat(text))
    except ValueError:
        return text  # not a date after all: shown as it is


FILTERS = {"sast": sast, "day": day, "rand": rand, "count": count, "cell": cell}
