"""Staff setting and reading offices' live status (the recording itself is
:mod:`gateway.dialogue.office_status`'s): the one place that decides who may set which centre's
offices, and that audits each change.

Contract: :func:`set_status` lets a clerk set only their own centres' offices (admins and the
command line, :data:`audit.CLI`, any centre: :func:`~gateway.staff.accounts.allowed_centre_ids`),
refuses a disabled account, and writes the status row and its ``office.status_set`` audit row in
one transaction; a ``down`` then alerts the centre's subscribers who asked for it
(:mod:`gateway.dialogue.office_alerts`, at most once per office per day). :func:`statuses` reads the statuses in force for the centres the actor may see.
Refusals raise :class:`~gateway.staff.accounts.StaffError` (scope) or
:class:`~gateway.dialogue.offices.OfficeError` (office, state, reason), both ValueErrors with a
message fit to show the person who asked.
"""

from __future__ import annotations

from datetime import datetime

from gateway.dialogue import office_alerts, office_status
from gateway.dialogue.office_status import Status
from gateway.runtime import Runtime
from gateway.staff import audit
from gateway.staff.accounts import Member, StaffError, allowed_centre_ids


def _scope(actor: Member | str) -> frozenset[int] | None:
    """The centres ``actor`` may set and read (None: every centre)."""
    if actor == audit.CLI:
        return None
    if not isinstance(actor, Member):
        raise StaffError(f"unknown actor {actor!r}")
    if not actor.active:
        raise StaffError("this account is disabled")
    return allowed_centre_ids(actor)


def set_status(rt: Runtime, actor: Member | str, centre_id: int, office: str, state: str,
               reason: str | None = None, *, via: str | None = None, now: datetime | None = None,
               expires_at: datetime | None = None, address: str | None = None) -> Status:
    """Set ``office`` at centre ``centre_id`` to ``state`` (with a reason code) for ``actor``;
    ``via`` says how ("cli" for the command line, else "dashboard" unless given). The status and
    its audit row are written together, or neither."""
    allowed = _scope(actor)
    if allowed is not None and centre_id not in allowed:
        raise StaffError(f"centre {centre_id} is not one of yours")
    staff_id = actor.id if isinstance(actor, Member) else None
    via = via or ("cli" if actor == audit.CLI else "dashboard")
    with rt.sessions.begin() as session:
        status = office_status.record(rt, centre_id, office, state, reason, staff_id=staff_id, via=via,
                                      now=now, expires_at=expires_at, session=session)
        audit.record(session, actor, "office.status_set", target=f"centre {centre_id} {status.office}",
                     address=address, detail={"state": status.state, "reason": status.reason, "via": via,
                                              "expires_at": status.expires_at.isoformat()})
    # After the commit: an alert must never tell of a status that was not kept. Every way of
    # setting a status comes here (SMS, dashboard, command line), so every one alerts.
    office_alerts.queue_down_alerts(rt, status)
    return status


def statuses(rt: Runtime, actor: Member | str, centre_id: int | None = None,
             now: datetime | None = None) -> list[Status]:
    """The statuses in force at ``now`` of the centres ``actor`` may see (or only ``centre_id``,
    refused when it is not among them)."""
    allowed = _scope(actor)
    if centre_id is not None:
        if allowed is not None and centre_id not in allowed:
            raise StaffError(f"centre {centre_id} is not one of yours")
        ids: list[int] | None = [centre_id]
    else:
        ids = None if allowed is None else sorted(allowed)
    return office_status.current(rt, ids, now=now)
