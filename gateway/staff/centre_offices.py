"""Which offices a centre has, set by staff (the dashboard's centre page; the CSV's ``offices``
column is the importer's): a fixed list like the services, so it applies at once, audited,
also for a clerk under the two-person rule (only free text waits for an approver).

Contract: :func:`set_offices` lets a clerk set only their own centres' offices (any other id is
:class:`~gateway.staff.centres.CentreNotFound`, the same answer as an id that does not exist),
admins and the CLI any; an unknown office code is a
:class:`~gateway.staff.centres.CentreError` naming the field ``offices``, and nothing changes.
A change is committed with its ``centre.edited`` row ``{"offices": [old, new]}`` (codes in
reference order). :func:`apply_offices` is the same change inside a caller's transaction (the
centre edit, which writes one row for all its fields).
"""

from __future__ import annotations

from sqlalchemy import select

from gateway.dialogue.offices import CODES, OfficeError, office_code
from gateway.runtime import Runtime
from gateway.staff import audit
from gateway.staff.accounts import Member
from gateway.staff.centres import CentreError, CentreNotFound, visible_centres
from gateway.store.models import Centre, Office


def clean_offices(codes) -> list[str]:
    """``codes`` as known office codes (any case), in reference order; CentreError otherwise."""
    try:
        known = {office_code(c) for c in codes or ()}
    except OfficeError as exc:
        raise CentreError(str(exc), "offices") from None
    return [c for c in CODES if c in known]


def apply_offices(session, centre: Centre, codes) -> list | None:
    """Give ``centre`` the offices ``codes``; ``[old, new]`` when that changed it, else None."""
    new = clean_offices(codes)
    old = [o.code for o in centre.offices]
    if old == new:
        return None
    rows = {o.code: o for o in session.scalars(select(Office).where(Office.code.in_(new)))}
    centre.offices = [rows[c] for c in new]
    return [old, new]


def set_offices(rt: Runtime, actor: Member | str, centre_id: int, codes, address: str | None = None) -> dict:
    """Set centre ``centre_id``'s offices to ``codes`` for ``actor``; ``{"offices": [old, new]}``
    as audited, or {} when nothing changed (and nothing is written)."""
    clean_offices(codes)  # refused before anything is read
    with rt.sessions.begin() as session:
        centre = session.scalar(visible_centres(actor).where(Centre.id == centre_id).with_for_update())
        if centre is None:
            raise CentreNotFound(f"no centre {centre_id} among yours")
        change = apply_offices(session, centre, codes)
        if change is None:
            return {}
        audit.record(session, actor, "centre.edited", target=f"centre {centre.id} {centre.name}",
                     address=address, detail={"offices": change})
    rt.directory.changed()
    return {"offices": change}
