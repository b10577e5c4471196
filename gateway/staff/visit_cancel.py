"""Cancelling a service visit: always with a reason; under the two-person rule, a clerk's
call-off of an approved visit someone else wrote is a request an approver decides.

Contract:
- :func:`cancel` needs a reason (kept in ``cancel_reason`` and the audit log). A visit waiting
  for approval is cancelled silently (nobody was told); an approved one's unsent messages,
  reminder and waiting change are cancelled and those told get a correction.
- :func:`cancel_needs_approval` (a clerk, ``BROADCAST_APPROVAL`` on, an approved visit written
  by someone else): :func:`cancel` only records the request (``cancel_requested_by``); the
  visit stays in force and cannot be changed until an approver or admin other than the one
  who asked decides — :func:`approve_cancel` or :func:`refuse_cancel` (with a reason, kept in
  ``rejected_reason`` for whoever asked). Both take the digest of what the decider saw
  (:func:`~gateway.staff.visit_plan.cancel_digest`: the visit, the request, the correction's
  text); a request or visit changed since is :class:`~gateway.staff.visits.Changed`.
"""

from __future__ import annotations

from sqlalchemy import update

from gateway.staff import broadcasts, visit_plan, visits
from gateway.staff.broadcasts import Actor
from gateway.staff.seen import same
from gateway.staff.visit_text import cancel_text
from gateway.store.models import Visit, utcnow


def cancel_needs_approval(rt, actor: Actor, row: Visit) -> bool:
    """A clerk (two-person rule on) calling off an approved visit someone else wrote: those
    told get a correction in the dashboard's name, so an approver agrees first."""
    return row.status == "approved" and broadcasts.needs_approval(rt, actor) and row.author_id != actor.staff_id


def cancel(rt, actor: Actor, visit_id: int, reason: str) -> Visit:
    """Call a visit off, saying why. If citizens were told of it, they get a correction; no
    reminder goes. Under :func:`cancel_needs_approval` it is only asked for: the visit stays in
    force (``cancel_requested_by`` set) until an approver agrees (:func:`approve_cancel`)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise visits.VisitError("say why the visit is cancelled (kept in the audit log)")
    row = visits.get_for(rt, actor, visit_id)
    if row.status not in visits.OPEN:
        raise visits.WrongState(f"visit {visit_id} is {row.status}: it cannot be cancelled")
    if row.cancel_requested_by is not None:
        raise visits.WrongState(f"a request to cancel visit {visit_id} already waits for an approver")
    if not cancel_needs_approval(rt, actor, row):
        return _cancel(rt, row, reason, actor.staff_id)
    with rt.sessions.begin() as s:
        moved = s.execute(update(Visit).where(Visit.id == visit_id, Visit.status == "approved",
                                              Visit.cancel_requested_by.is_(None))
                          .values(cancel_requested_by=actor.staff_id, cancel_reason=reason, updated_at=utcnow())).rowcount
    if not moved:
        raise visits.WrongState(f"visit {visit_id} changed meanwhile: open it again")
    return visits.get(rt, visit_id)


def _check_cancel_decider(rt, actor: Actor, visit_id: int, seen: str) -> Visit:
    if actor.role not in ("approver", "admin"):
        raise visits.NotAllowed("only an approver or an admin may decide a request to cancel a visit")
    row = visits.get_for(rt, actor, visit_id)
    if row.cancel_requested_by is None or row.status != "approved":
        raise visits.WrongState(f"no request to cancel visit {visit_id} waits for a decision")
    if actor.staff_id is not None and actor.staff_id == row.cancel_requested_by:
        raise visits.NotAllowed("who asked to cancel a visit cannot approve or refuse it: someone else must")
    if not same(seen, visit_plan.cancel_digest(rt, row)):
        raise visits.Changed()
    return row


def approve_cancel(rt, actor: Actor, visit_id: int, seen: str) -> Visit:
    """Agree to a request to cancel ``visit_id`` (as seen): it is cancelled, those told corrected."""
    row = _check_cancel_decider(rt, actor, visit_id, seen)
    return _cancel(rt, row, row.cancel_reason or "", actor.staff_id)


def refuse_cancel(rt, actor: Actor, visit_id: int, reason: str, seen: str) -> Visit:
    """Turn down a request to cancel ``visit_id`` (as seen): it stays in force; ``reason`` is
    kept (``rejected_reason``) for whoever asked."""
    if not (reason or "").strip():
        raise visits.VisitError("refusing a cancellation needs a reason for whoever asked")
    row = _check_cancel_decider(rt, actor, visit_id, seen)
    with rt.sessions.begin() as s:
        moved = s.execute(update(Visit).where(Visit.id == visit_id, Visit.status == "approved", *_request_as_seen(row))
                          .values(cancel_requested_by=None, cancel_reason=None, rejected_reason=reason.strip(),
                                  updated_at=utcnow())).rowcount
    if not moved:
        raise visits.Changed()
    return visits.get(rt, visit_id)


def _request_as_seen(row: Visit) -> tuple:
    asked = (Visit.cancel_requested_by.is_(None) if row.cancel_requested_by is None
             else Visit.cancel_requested_by == row.cancel_requested_by)
    return (*visits.as_seen(row), asked)


def _cancel(rt, row: Visit, reason: str, by: int | None) -> Visit:
    """Cancel ``row`` (as read: a change meanwhile cancels nothing), its waiting change, and
    its unsent messages; correct those told."""
    with rt.sessions.begin() as s:
        moved = s.execute(update(Visit).where(Visit.id == row.id, Visit.status == row.status, *_request_as_seen(row))
                          .values(status="cancelled", cancel_reason=reason, cancel_requested_by=None,
                                  updated_at=utcnow())).rowcount
        # A change waiting for approval would change a visit that no longer takes place.
        if moved:
            s.execute(update(Visit).where(Visit.replaces_id == row.id, Visit.status == "pending_approval")
                      .values(status="cancelled", updated_at=utcnow()))
    if not moved:
        now = visits.get(rt, row.id)
        raise visits.WrongState(f"visit {row.id} is {now.status}: it cannot be cancelled"
                                if now.status not in visits.OPEN else f"visit {row.id} changed meanwhile: open it again")
    if row.status == "approved":
        visits.stop_messages(rt, row.id)
        visits.correct(rt, row.id, cancel_text(row, visits.name_of_centre(rt, row.centre_id)), row.id, by)
        rt.directory.changed()
    return visits.get(rt, row.id)
