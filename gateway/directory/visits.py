"""Service visits as directory facts: what USSD and SMS show of them.

Contract: :func:`upcoming_by_centre` reads the approved visits on or after a day, per centre,
soonest first (the browse snapshot holds them beside each centre's details, so a hop runs no
SQL for them); :func:`still_coming` keeps those not yet over at a local moment — the snapshot
lives up to a minute and a day ends while it does. A change to a visit is a change to the
directory: the staff side calls :meth:`gateway.directory.nearest.Directory.changed`, and every
process reloads within a second.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.store.models import Office
from gateway.store.models import Visit as VisitRow
from menus.ports import Visit

SHOWN = "approved"  # the only state citizens see: pending, rejected, replaced and cancelled are staff matters


def as_fact(row: VisitRow, office: str | None = None) -> Visit:
    """``row`` as citizens see it; ``office``: the code of its office, if it has one."""
    return Visit(row.service, row.day, row.starts, row.ends, office)


def upcoming_by_centre(session: Session, since: date, centre_ids: Iterable[int] | None = None) -> dict[int, list[Visit]]:
    """Approved visits on ``since`` or later, by centre id, soonest first."""
    query = (select(VisitRow, Office.code).outerjoin(Office, Office.id == VisitRow.office_id)
             .where(VisitRow.status == SHOWN, VisitRow.day >= since)
             .order_by(VisitRow.day, VisitRow.starts, VisitRow.id))
    if centre_ids is not None:
        query = query.where(VisitRow.centre_id.in_(list(centre_ids)))
    found: dict[int, list[Visit]] = {}
    for row, office in session.execute(query):
        found.setdefault(row.centre_id, []).append(as_fact(row, office))
    return found


def still_coming(visits: Iterable[Visit], now_local: datetime) -> tuple[Visit, ...]:
    """The visits not over at ``now_local`` (South African time), in their order."""
    today, clock = now_local.date(), now_local.time()
    return tuple(v for v in visits if v.day > today or (v.day == today and v.ends > clock))
