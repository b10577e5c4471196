"""Subscribers in bulk for broadcast tests (Core inserts, thousands per second), a day a visit
can be registered on without warnings, and the dashboard's two posts of a send (check, then
confirm: :func:`send_checked`)."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

from sqlalchemy import insert, select

from gateway.staff.visit_warnings import warnings
from gateway.staff.visits import Details
from gateway.store.models import Centre, Citizen, Subscription, utcnow


def add_subscribers(rt, phones: list[str], centre_id: int, language: str = "en",
                    opted_out: bool = False, ended: bool = False) -> None:
    """Citizens for ``phones`` (created if new) each subscribed to ``centre_id``."""
    now = utcnow()
    with rt.sessions.begin() as s:
        have = set(s.scalars(select(Citizen.phone).where(Citizen.phone.in_(phones)))) if len(phones) < 30000 else set()
        new = [{"phone": p, "language": language, "opted_out": opted_out, "created_at": now}
               for p in phones if p not in have]
        for start in range(0, len(new), 5000):
            s.execute(insert(Citizen), new[start:start + 5000])
        ids = dict(s.execute(select(Citizen.phone, Citizen.id).where(Citizen.phone.in_(phones))).all()) \
            if len(phones) < 30000 else dict(s.execute(select(Citizen.phone, Citizen.id)).all())
        subs = [{"citizen_id": ids[p], "centre_id": centre_id, "consented_at": now,
                 "ended_at": now if ended else None} for p in phones]
        for start in range(0, len(subs), 5000):
            s.execute(insert(Subscription), subs[start:start + 5000])


def centre_id(rt, town: str) -> int:
    with rt.sessions() as s:
        return s.scalar(select(Centre.id).where(Centre.town == town).order_by(Centre.id))


def ordinary_day(rt, centre: int, after: date) -> date:
    """The first day from ``after`` on when a SASSA visit 09:00-14:00 at ``centre`` draws no
    warning to confirm (not a Sunday or holiday, the centre open then): tests on the real
    clock stay independent of the weekday they run on."""
    day = after
    while warnings(rt, centre, Details("SASSA", day, time(9), time(14))):
        day += timedelta(days=1)
    return day


CONFIRM_FIELD = re.compile(r'<input id="(seen|shown_recipients|token|step)" name="\1" type="hidden" value="([^"]*)">')


def confirm_fields(page: str) -> dict[str, str]:
    """What the confirm page's form binds (its digest, the count shown, its token); {} when
    the page is not a confirm page."""
    return dict(CONFIRM_FIELD.findall(page))


def send_checked(auth, data: dict, path: str = "/staff/broadcasts/new", **kwargs):
    """Press "Check, then send" with ``data``, then the confirm page's button: the response to
    the second post (or to the first, when it did not reach the confirm page)."""
    checked = auth.post(path, {**data, "action": "check"}, **kwargs)
    fields = confirm_fields(checked.get_data(as_text=True))
    if not fields.get("seen"):
        return checked
    return auth.post(path, {**data, **fields, "action": "send"}, **kwargs)
