"""How a service visit reads on a screen or in an SMS, in the caller's language (pure).

Contract: :func:`short_day` gives CLDR's abbreviated weekday, day and month for the language
("Tue 3 Dec", "Di. 3 Des.", "Bil 3 Dis") through Babel, kept in GSM-7 — a curly apostrophe
becomes a straight one, and a name that still needs UCS-2 falls back to English, so one
date never halves a screen. :func:`visit_label` is "SASSA Tue 3 Dec 09:00-14:00" (an office's name in the caller's language);
:func:`coming_up_line` the "Coming up: …" line the centre's details show (the catalogue's
``centre.coming_up`` and up to ``limit`` visits).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from babel import Locale
from babel.dates import format_date

from menus.catalogue import Catalogues
from menus.ports import Visit
from menus.segments import is_gsm7


@lru_cache(maxsize=16)
def _locale(lang: str) -> Locale:
    try:
        return Locale.parse(f"{lang}_ZA")
    except (ValueError, LookupError):
        return Locale.parse("en_ZA")


def short_day(day: date, lang: str) -> str:
    """``day`` as "Tue 3 Dec" in ``lang`` (English when the language's names need UCS-2)."""
    text = format_date(day, "EEE d MMM", locale=_locale(lang)).replace("\u2019", "'")
    return text if is_gsm7(text) else format_date(day, "EEE d MMM", locale=_locale("en"))


def visit_label(visit: Visit, lang: str) -> str:
    """"SASSA Tue 3 Dec 09:00-14:00": an office's visit named in ``lang``, any other as typed."""
    who = Catalogues.load().text(lang, f"office.{visit.office}") if visit.office else visit.service
    return f"{who} {short_day(visit.day, lang)} {visit.starts:%H:%M}-{visit.ends:%H:%M}"


def coming_up_line(visits, lang: str, limit: int = 2) -> str:
    """"Coming up: SASSA Tue 3 Dec 09:00-14:00; …" or "" when nothing is coming."""
    if not visits:
        return ""
    label = Catalogues.load().text(lang, "centre.coming_up")
    return f"{label}: " + "; ".join(visit_label(v, lang) for v in list(visits)[:limit])
