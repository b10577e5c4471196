"""What to check before a service visit is announced: days and times a citizen should not be
sent to, each worded for the author, who must confirm them (and the approver reads them).

Contract: :func:`warnings` lists, for visit details at a centre, in this order: a Sunday or
a public holiday; a day the centre's hours say it is closed; times outside the centre's hours
that day (from its first opening to its last closing: a lunch break inside is fine); another
open visit (waiting or approved) of the same service at the same centre that day. Days
whose hours are not recorded give no hours warning. The visits in ``ignore`` (the visit
itself, the version it changes) are not duplicates of it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import time

from sqlalchemy import func, select

from gateway.directory.hours import CLOSED, DAYS
from gateway.sms.quiet_hours import PublicHolidays
from gateway.store.models import Centre, Visit
from menus.visits import short_day

OPEN = ("pending_approval", "approved")
_HOLIDAYS = PublicHolidays("ZA")


def _span(hours: str) -> tuple[time, time]:
    """``07:30-12:30,13:30-16:00`` → (07:30, 16:00)."""
    ranges = [r.split("-") for r in hours.split(",")]
    return time.fromisoformat(ranges[0][0]), (time(23, 59) if ranges[-1][1] == "24:00"
                                               else time.fromisoformat(ranges[-1][1]))


def warnings(rt, centre_id: int, details, ignore: Collection[int] = ()) -> list[str]:
    """The reasons to look twice at ``details`` (service, day, starts, ends) at ``centre_id``."""
    day = details.day
    found = []
    holiday = _HOLIDAYS.name(day)
    if day.weekday() == 6:
        found.append(f"{short_day(day, 'en')} is a Sunday")
    elif holiday:
        found.append(f"{short_day(day, 'en')} is a public holiday ({holiday})")
    with rt.sessions() as s:
        hours = s.scalar(select(getattr(Centre, f"hours_{DAYS[day.weekday()]}")).where(Centre.id == centre_id))
        query = select(Visit).where(Visit.centre_id == centre_id, Visit.day == day, Visit.status.in_(OPEN),
                                    func.lower(Visit.service) == details.service.lower())
        if ignore:
            query = query.where(Visit.id.not_in(list(ignore)))
        others = list(s.scalars(query.order_by(Visit.id)))
    if hours == CLOSED:
        found.append(f"the centre is closed on {day:%A}s")
    elif hours:
        opens, closes = _span(hours)
        if details.starts < opens or details.ends > closes:
            found.append(f"{details.starts:%H:%M}-{details.ends:%H:%M} is outside the centre's hours on "
                         f"{day:%A}s ({hours})")
    for other in others:
        found.append(f"{other.service} already visits the centre that day (visit {other.id}, "
                     f"{other.starts:%H:%M}-{other.ends:%H:%M}, {other.status.replace('_', ' ')})")
    return found
