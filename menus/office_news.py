"""Offices' status today, in the citizen's language (pure): the lines the USSD details screen,
the ``CENTRE`` reply and the ``STATUS <place>`` reply show.

Contract: :func:`news_line` says one office's status ("Home Affairs: DOWN - system offline
(09:12)"); :func:`not_up_first` orders news with ``slow``/``down`` before ``up`` (a stable
sort: the office reference order stays within each); :func:`status_reply` answers
``STATUS <place>`` within ``REPLY_SEGMENTS`` (offices dropped from the end, never the first),
or "no reports today"; :func:`centre_status_line` is the one line a ``CENTRE`` reply adds when
its first centre has a non-``up`` office (None otherwise); :func:`alert_text` is the office-down
alert a subscriber who asked for alerts gets, in one segment.
"""

from __future__ import annotations

from menus.catalogue import Catalogues
from menus.ports import OfficeNews
from menus.render import short_centre_name
from menus.segments import measure

REPLY_SEGMENTS = 2  # as every keyword reply (menus.keywords)


def _cats() -> Catalogues:
    return Catalogues.load()


def news_line(news: OfficeNews, lang: str) -> str:
    """'Home Affairs: DOWN - system offline (09:12)' in ``lang``."""
    cats = _cats()
    values = {"office": cats.text(lang, f"office.{news.office}"), "state": cats.text(lang, f"status.{news.state}"),
              "time": f"{news.since:%H:%M}"}
    if news.reason:
        return cats.text(lang, "status.line", reason=cats.text(lang, f"status_reason.{news.reason}"), **values)
    return cats.text(lang, "status.line_bare", **values)


def not_up_first(news: tuple[OfficeNews, ...] | list[OfficeNews]) -> list[OfficeNews]:
    return sorted(news, key=lambda n: n.state == "up")


def _fit(lang: str, key: str, lines: list[str], **values) -> str | None:
    """``key`` with as many of ``lines`` as fit the reply budget ('...' marks a cut); None
    when not even the first fits."""
    cats = _cats()
    for count in range(len(lines), 0, -1):
        offices = "; ".join(lines[:count]) + ("; ..." if count < len(lines) else "")
        text = cats.text(lang, key, offices=offices, **values)
        if measure(text).segments <= REPLY_SEGMENTS:
            return text
    return None


def status_reply(lang: str, centre_name: str, news: list[OfficeNews]) -> str:
    """'Maponya Mall Thusong today: Home Affairs: DOWN - system offline (09:12); SASSA: up
    (08:00)', not-up offices first; 'no reports today' without news."""
    centre = short_centre_name(centre_name)
    if not news:
        return _cats().text(lang, "sms.status_none", centre=centre)
    lines = [news_line(n, lang) for n in not_up_first(news)]
    return _fit(lang, "sms.status", lines, centre=centre) or _cats().text(
        lang, "sms.status", centre=centre, offices=lines[0])[:300]


def centre_status_line(lang: str, news: list[OfficeNews]) -> str | None:
    """'Today: Home Affairs: DOWN - system offline (09:12)' for the first centre of a
    ``CENTRE`` reply, naming its non-``up`` offices; None when all are up or unreported."""
    lines = [news_line(n, lang) for n in not_up_first(news) if n.state != "up"]
    if not lines:
        return None
    return _fit(lang, "sms.status_line", lines) or _cats().text(lang, "sms.status_line", offices=lines[0])


ALERT_SEGMENTS = 1  # an alert is a bulk SMS, paid for each subscriber: one segment


def alert_text(lang: str, centre_name: str, office: str, reason: str | None) -> str:
    """The office-down alert: 'Home Affairs at Maponya Mall Thusong: DOWN today - system
    offline. Check before you travel. ALERTS OFF to stop.' within :data:`ALERT_SEGMENTS`:
    the reason goes first, then the centre's name is cut (the office and the way to stop stay)."""
    cats = _cats()
    values = {"office": cats.text(lang, f"office.{office}"), "state": cats.text(lang, "status.down")}
    tries = [("sms.alert", {"reason": cats.text(lang, f"status_reason.{reason}")})] if reason else []
    tries.append(("sms.alert_bare", {}))
    centre = short_centre_name(centre_name)
    for key, extra in tries:
        text = cats.text(lang, key, centre=centre, **values, **extra)
        if measure(text).segments <= ALERT_SEGMENTS:
            return text
    for cut in range(len(centre) - 1, 0, -1):
        text = cats.text(lang, "sms.alert_bare", centre=centre[:cut].rstrip() + "...", **values)
        if measure(text).segments <= ALERT_SEGMENTS:
            return text
    return text
