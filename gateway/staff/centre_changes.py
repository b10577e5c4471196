"""Changes to what citizens read of a centre — its name, address and phone — held for a second
person under the two-person rule (``BROADCAST_APPROVAL``, as for broadcasts and visits).

Contract:
- :func:`needs_approval`: a clerk's edit under the rule. :func:`gateway.staff.centres.edit_centre`
  then applies hours, location, services and "open" at once (audited ``centre.edited``) and
  hands the name, address and phone to :func:`hold`, which makes them the centre's one pending
  :class:`~gateway.store.models.CentreChange` (``centre.change_submitted``). Citizens read the
  old text until it is approved. A further edit alters that change (its ``version`` grows); an
  edit back to what citizens read withdraws it (``centre.change_withdrawn``). An admin's edit,
  or anyone's with the rule off, applies at once and leaves a pending change as it is.
- :func:`approve` and :func:`reject` (with a reason): an approver or admin (else
  :class:`NotAllowed`) who is not the change's author, for a centre in their scope
  (:func:`~gateway.staff.accounts.allowed_centre_ids`; any other id is :class:`NotFound`).
  Approval writes the text to the centre and tells every process to reload its directory
  (:meth:`~gateway.directory.nearest.Directory.changed`), as an edit does. Each writes its
  audit row (``centre.change_approved`` / ``centre.change_rejected``) in its transaction.
- Binding: a decision is on what the page showed. :attr:`Change.seen` is a digest of the
  change's id and version, the text citizens read then and the text wanted; the form sends it
  back and a decision whose digest differs now (altered again, decided already, or the centre's
  text changed meanwhile) raises :class:`Stale` ("this changed since you opened it").

Errors, all :class:`ChangeError` (a :class:`~gateway.staff.accounts.StaffError`): NotFound,
NotAllowed, Stale; the base itself for a missing reason or a name another centre took meanwhile.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.directory.centre_row import centre_key
from gateway.runtime import Runtime
from gateway.staff import audit
from gateway.staff.accounts import ADMIN, APPROVER, CLERK, Member, StaffError, allowed_centre_ids
from gateway.store.models import Centre, CentreChange, Staff, utcnow

TEXT_FIELDS = ("name", "address", "phone")
STALE = "this changed since you opened it"


class ChangeError(StaffError):
    """A centre change could not be decided; the message says why (a reason is missing, or
    another centre took the name meanwhile)."""


class NotFound(ChangeError):
    """No such change, or not one for the member's centres."""


class NotAllowed(ChangeError):
    """The member may not decide it: not an approver or admin, or its author."""


class Stale(ChangeError):
    """What the page showed is no longer so: the change was altered or decided, or the
    centre's text changed, since the approver opened it."""


@dataclass(frozen=True)
class Change:
    """One centre change as the pages show it. ``diff`` is {field: (what citizens read now,
    what is wanted)} for each field that differs; ``seen`` binds a decision to it."""

    id: int
    centre_id: int
    centre_name: str
    status: str
    version: int
    author_id: int | None
    author: str
    diff: dict[str, tuple[str | None, str | None]]
    rejected_reason: str | None
    updated_at: datetime
    seen: str


def needs_approval(rt: Runtime, member: Member) -> bool:
    """Whether ``member``'s change to a centre's name, address or phone waits for an approver."""
    return rt.settings.broadcast_approval and member.role == CLERK


def _text(row: Centre | CentreChange) -> dict[str, str | None]:
    return {f: getattr(row, f) for f in TEXT_FIELDS}


def _diff(now: dict, wanted: dict) -> dict[str, tuple]:
    return {f: (now[f], wanted[f]) for f in TEXT_FIELDS if now[f] != wanted[f]}


def _digest(row: CentreChange, centre: Centre) -> str:
    payload = json.dumps([row.id, row.version, _text(centre), _text(row)], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _view(row: CentreChange, centre: Centre, author: str) -> Change:
    return Change(row.id, centre.id, centre.name, row.status, row.version, row.author_id, author,
                  _diff(_text(centre), _text(row)), row.rejected_reason, row.updated_at, _digest(row, centre))


def hold(session: Session, member: Member, centre: Centre, wanted: dict,
         address: str | None = None) -> tuple[dict, bool]:
    """In the caller's transaction (``centre`` read for update): make ``wanted`` (a value for
    each of :data:`TEXT_FIELDS`) the centre's pending change. Returns {field: [what citizens
    read, wanted]} that now waits (empty: nothing does), and whether a pending change was
    withdrawn (``wanted`` is what citizens read already)."""
    pending = session.scalar(select(CentreChange).where(CentreChange.centre_id == centre.id,
                                                        CentreChange.status == "pending"))
    diff = {f: list(pair) for f, pair in _diff(_text(centre), wanted).items()}
    target = f"centre {centre.id} {centre.name}"
    if not diff:
        if pending is not None:
            _decide(session, pending, "withdrawn", None)
            audit.record(session, member, "centre.change_withdrawn", target=target, address=address,
                         detail={"change": pending.id})
        return {}, pending is not None
    if pending is None:
        pending = CentreChange(centre_id=centre.id, status="pending", version=1, author_id=member.id, **wanted)
        session.add(pending)
        session.flush()
        version = 1
    elif _text(pending) == wanted:
        return diff, False  # saved again as it was: it waits as before, and approvers' pages stay valid
    else:
        version = pending.version + 1
        moved = session.execute(update(CentreChange).where(
            CentreChange.id == pending.id, CentreChange.status == "pending", CentreChange.version == pending.version)
            .values(version=version, author_id=member.id, updated_at=utcnow(), **wanted)).rowcount
        if not moved:  # decided between our read and our write: the clerk must look again
            raise Stale(f"{STALE}: the change waiting for approval was decided; open the page again")
    audit.record(session, member, "centre.change_submitted", target=target, address=address,
                 detail={**diff, "change": pending.id, "version": version})
    return diff, False


def _decide(session: Session, row: CentreChange, status: str, member: Member | None,
            reason: str | None = None) -> None:
    moved = session.execute(update(CentreChange).where(
        CentreChange.id == row.id, CentreChange.status == "pending", CentreChange.version == row.version)
        .values(status=status, decided_by=member.id if member else None, rejected_reason=reason,
                updated_at=utcnow())).rowcount
    if not moved:
        raise Stale(STALE)


def _open(session: Session, member: Member, change_id: int) -> tuple[CentreChange, Centre]:
    """The change and its centre, the centre read for update (so no edit or other decision on
    it runs meanwhile) and the change read after that; :class:`NotFound` outside the scope."""
    if member.role not in (APPROVER, ADMIN):
        raise NotAllowed("only an approver or an admin may approve or reject a centre's change")
    centre_id = session.scalar(select(CentreChange.centre_id).where(CentreChange.id == change_id))
    scope = allowed_centre_ids(member)
    if centre_id is None or (scope is not None and centre_id not in scope):
        raise NotFound(f"no centre change {change_id} among your centres")
    centre = session.scalar(select(Centre).where(Centre.id == centre_id).with_for_update())
    row = session.scalar(select(CentreChange).where(CentreChange.id == change_id)
                         .execution_options(populate_existing=True))
    if row.author_id == member.id:
        raise NotAllowed("you wrote this change: someone else must approve or reject it")
    if row.status != "pending":
        raise Stale(f"{STALE}: it was {row.status} meanwhile")
    return row, centre


def _check_seen(row: CentreChange, centre: Centre, seen: str) -> None:
    if seen != _digest(row, centre):
        raise Stale(f"{STALE}: look at it again before you decide")


def approve(rt: Runtime, member: Member, change_id: int, seen: str, address: str | None = None) -> Change:
    """Publish the change the approver saw (``seen``: its :attr:`Change.seen`)."""
    with rt.sessions.begin() as session:
        row, centre = _open(session, member, change_id)
        _check_seen(row, centre, seen)
        diff = _diff(_text(centre), _text(row))
        if "name" in diff and centre_key(row.name) != centre.key and session.scalar(
                select(Centre.id).where(Centre.key == centre_key(row.name))):
            raise ChangeError("another centre has that name now: reject this change")
        _decide(session, row, "approved", member)
        for field, (_old, new) in diff.items():
            setattr(centre, field, new)
        if "name" in diff:
            centre.key = centre_key(row.name)
        audit.record(session, member, "centre.change_approved", target=f"centre {centre.id} {centre.name}",
                     address=address, detail={**{f: list(p) for f, p in diff.items()}, "change": row.id,
                                              "version": row.version})
        session.flush()
        session.refresh(row)
        done = _view(row, centre, _name_of(session, row.author_id))
    rt.directory.changed()
    return done


def reject(rt: Runtime, member: Member, change_id: int, seen: str, reason: str,
           address: str | None = None) -> Change:
    """Refuse the change the approver saw, telling its author why; citizens never read it."""
    reason = (reason or "").strip()
    if not reason:
        raise ChangeError("a rejection needs a reason for the author")
    with rt.sessions.begin() as session:
        row, centre = _open(session, member, change_id)
        _check_seen(row, centre, seen)
        diff = _diff(_text(centre), _text(row))
        _decide(session, row, "rejected", member, reason)
        audit.record(session, member, "centre.change_rejected", target=f"centre {centre.id} {centre.name}",
                     address=address, detail={**{f: list(p) for f, p in diff.items()}, "change": row.id,
                                              "version": row.version, "reason": reason})
        session.flush()
        session.refresh(row)
        return _view(row, centre, _name_of(session, row.author_id))


def _name_of(session: Session, staff_id: int | None) -> str:
    return (session.scalar(select(Staff.name).where(Staff.id == staff_id)) if staff_id else None) or "someone"


def _scoped(query, member: Member):
    scope = allowed_centre_ids(member)
    return query if scope is None else query.where(CentreChange.centre_id.in_(sorted(scope)))


def pending_changes(rt: Runtime, member: Member) -> list[Change]:
    """The changes waiting for approval among ``member``'s centres, oldest first."""
    query = _scoped(select(CentreChange, Centre, Staff.name).join(Centre, Centre.id == CentreChange.centre_id)
                    .outerjoin(Staff, Staff.id == CentreChange.author_id)
                    .where(CentreChange.status == "pending").order_by(CentreChange.created_at, CentreChange.id),
                    member)
    with rt.sessions() as session:
        return [_view(row, centre, author or "someone") for row, centre, author in session.execute(query)]


def waiting_for(rt: Runtime, member: Member) -> int:
    """How many changes ``member`` could decide now (none for a clerk): the home page's count."""
    if member.role not in (APPROVER, ADMIN):
        return 0
    query = _scoped(select(func.count()).select_from(CentreChange).where(
        CentreChange.status == "pending",
        (CentreChange.author_id.is_(None)) | (CentreChange.author_id != member.id)), member)
    with rt.sessions() as session:
        return session.scalar(query) or 0


def latest(rt: Runtime, member: Member, centre_id: int) -> Change | None:
    """The centre's most recent change (pending or decided) if it is one of ``member``'s
    centres: the edit page shows that one waits, or why it was rejected."""
    scope = allowed_centre_ids(member)
    if scope is not None and centre_id not in scope:
        return None
    query = (select(CentreChange, Centre, Staff.name).join(Centre, Centre.id == CentreChange.centre_id)
             .outerjoin(Staff, Staff.id == CentreChange.author_id).where(CentreChange.centre_id == centre_id)
             .order_by(CentreChange.id.desc()).limit(1))
    with rt.sessions() as session:
        found = session.execute(query).first()
    return _view(found[0], found[1], found[2] or "someone") if found else None
