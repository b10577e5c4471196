"""What a service visit's messages say (English, as staff broadcasts are written).

Contract: each function returns the author's part of one SMS; the broadcast adds the prefix
and the opt-out line (:func:`gateway.staff.preview.full_text`). :func:`centre_name` is the
short name the texts use, or :class:`LookupError` for a centre that does not exist.
"""

from __future__ import annotations

from sqlalchemy import select

from gateway.store.models import Centre, Visit
from menus.render import short_centre_name
from menus.visits import short_day


def when_text(d) -> str:
    """``Mon 7 Dec, 09:00-14:00`` for a visit or its details."""
    return f"{short_day(d.day, 'en')}, {d.starts:%H:%M}-{d.ends:%H:%M}"


def notice_text(v: Visit, centre: str) -> str:
    return f"{v.service} at {centre}, {when_text(v)}."


def reminder_text(v: Visit, centre: str) -> str:
    return f"Reminder: {v.service} at {centre}, {when_text(v)}."


def change_text(old: Visit, new: Visit, centre: str) -> str:
    was = f"{old.service} at {centre}, {when_text(old)}"
    return f"Change: {was} is now {new.service}, {when_text(new)}."


def cancel_text(v: Visit, centre: str) -> str:
    return f"Cancelled: {v.service} at {centre}, {when_text(v)} will not take place."


def centre_name(rt, centre_id: int) -> str:
    with rt.sessions() as s:
        name = s.scalar(select(Centre.name).where(Centre.id == centre_id))
    if name is None:
        raise LookupError(f"no centre with id {centre_id}")
    return short_centre_name(name)
