"""Service visits: register, approve or reject, edit — and the messages each sends (cancel:
:mod:`gateway.staff.visit_cancel`).

A visit ("SASSA at Kagiso Thusong, Tue 3 Dec, 09:00-14:00") is a directory fact (its model
is :class:`~gateway.store.models.Visit`; USSD and SMS read it through
:mod:`gateway.directory.visits`). Its messages are broadcasts (:func:`gateway.staff.broadcasts.issue`),
so scheduling, quiet hours, fan-out, exactly-once sending, cancel and progress are theirs:

    pending_approval ─approve→ approved ─(an approved edit)→ replaced
         └─reject→ rejected          └─cancel (or a request to cancel, approved)→ cancelled
    pending_approval ─cancel→ cancelled

Contract:
- Scope as for broadcasts: an actor limited to some centres registers, sees and acts on the
  visits of those centres only (others are :class:`NotFound`). The two-person rule is the
  broadcasts' (:func:`~gateway.staff.broadcasts.needs_approval`): a clerk's visit, or edit,
  waits for an approver or admin who is not its author; anyone else's goes at once.
- Refused outright (:func:`check`): a day past, or more than :data:`MAX_AHEAD` away. Details
  with :func:`warnings` (a Sunday or holiday, outside the centre's hours, the same service
  there that day) are registered or changed only when the author confirms exactly those
  (:class:`Unconfirmed` carries them and the digest that confirms them).
- An approval or rejection binds what the approver saw: it takes the digest
  (:func:`~gateway.staff.visit_plan.approval_digest`) of the visit and the exact messages
  approving it sends, and a visit changed since is :class:`Changed` — nothing sent or changed.
- On approval: a **notice** to the centre's subscribers (``visit:ID``: not those already told
  of an earlier version) at once or in the next quiet-hours window, and a **reminder** to the
  centre's subscribers at :func:`reminder_at`: the last bulk window before the visit's day, at
  :data:`REMINDER_TIME` if that window holds it — none when that window is the notice's own.
- The notice's wording is the author's (``Details.notice``, held to the placeholder rules of
  :func:`~gateway.staff.visit_text.check_notice`) until the visit is approved; the approval
  binds its exact text like every planned message's. An approved visit's notice has gone: an
  edit that changes only its wording is refused.
- An edit of an approved visit is a new version that replaces it once approved (the old one
  and its reminder stay in force meanwhile): the old version's unsent messages and reminder
  are cancelled, a **correction** goes to everyone already told (``told:ID``), and the new
  version gets its notice (to those not told) and reminder. Cancelling (always with a reason,
  kept in ``cancel_reason``) an approved visit cancels its unsent messages and reminder (and a
  change waiting for approval) and sends a correction to those told. When a clerk calls off
  an approved visit someone else wrote under the two-person rule (:func:`cancel_needs_approval`)
  it is a request: the visit stays in force, unchangeable, until an approver other than the
  clerk agrees (:func:`approve_cancel`, bound like an approval) or refuses with a reason
  (:func:`refuse_cancel`). A visit still waiting for approval is edited in place and
  cancelled silently: nobody was told.
- Every change to what citizens see calls :meth:`Directory.changed`, so USSD and SMS show it
  within a second. The web layer writes the audit rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import or_, select, update

from gateway.dialogue.offices import OFFICES, OfficeError, office_code
from gateway.sms import bulk
from gateway.staff import broadcasts, visit_plan
from gateway.staff.broadcasts import Actor
from gateway.staff.progress import utc
from gateway.staff.seen import CHANGED, digest, same
from gateway.staff.targets import count_recipients, parse
from gateway.staff.visit_plan import REMINDER_TIME as REMINDER_TIME
from gateway.staff.visit_plan import reminder_at as reminder_at
from gateway.staff.visit_text import (
    centre_name,
    change_text,
    check_notice,
    notice_text,
    reminder_text,
)
from gateway.staff.visit_warnings import warnings as warnings
from gateway.store.models import Broadcast, Office, Visit, utcnow
from menus.segments import is_gsm7

log = logging.getLogger(__name__)
SERVICE_CHARS = 24  # "Home Affairs mobile unit": fits a screen line beside the date in every language
MAX_AHEAD = timedelta(days=366)  # visits are planned weeks ahead; a later day is a typing slip (9999)
OPEN = ("pending_approval", "approved")
OFFICE_NAMES = {code: name for code, name, _services in OFFICES}  # English, as staff messages are


class VisitError(ValueError):
    """A visit request was refused; the message says why. Subclasses say which kind."""


class NotAllowed(VisitError):
    """The actor may not do this (a centre not theirs, approving their own visit)."""


class WrongState(VisitError):
    """The visit is not in a state this step leaves (approving a cancelled one)."""


class NotFound(VisitError):
    """No visit has that id (or the actor may not see it)."""


class Changed(VisitError):
    """What the approver saw (:mod:`gateway.staff.visit_plan`'s digest) is no longer what the
    decision would act on: the visit, its messages or the request changed. Nothing was done."""

    def __init__(self) -> None:
        super().__init__(CHANGED)


class Unconfirmed(VisitError):
    """The details deserve a second look (:func:`warnings`) that the author has not confirmed:
    ``warnings`` lists them, ``digest`` is what confirming exactly these carries."""

    def __init__(self, found: list[str]) -> None:
        super().__init__("check before it is announced: " + "; ".join(found))
        self.warnings, self.digest = found, digest(*found)


@dataclass(frozen=True)
class Details:
    """What staff type: the service, the local day and times; ``office`` the office code when
    staff picked one (the service is then its English name), None for "other" (free text);
    ``notice`` the author's wording of the notice (None: the standard one,
    :mod:`gateway.staff.visit_text`)."""

    service: str
    day: date
    starts: time
    ends: time
    office: str | None = None
    notice: str | None = None


# --- reads ----------------------------------------------------------------------------------------

def get(rt, visit_id: int) -> Visit:
    with rt.sessions() as s:
        row = s.get(Visit, visit_id)
    if row is None:
        raise NotFound(f"no visit {visit_id}")
    return row


def visible(actor: Actor, row: Visit) -> bool:
    return actor.scope is None or row.centre_id in actor.scope


def get_for(rt, actor: Actor, visit_id: int) -> Visit:
    """:func:`get`, but :class:`NotFound` for a visit ``actor`` may not see."""
    row = get(rt, visit_id)
    if not visible(actor, row):
        raise NotFound(f"no visit {visit_id}")
    return row


def list_visits(rt, actor: Actor, limit: int = 100) -> list[Visit]:
    """The visits ``actor`` may see, latest day first."""
    query = select(Visit).order_by(Visit.day.desc(), Visit.starts.desc(), Visit.id.desc()).limit(limit)
    if actor.scope is not None:
        query = query.where(Visit.centre_id.in_(actor.scope))
    with rt.sessions() as s:
        return list(s.scalars(query))


def awaiting(rt, actor: Actor) -> list[Visit]:
    """What waits for ``actor``'s decision (an approver or admin; nothing for a clerk): visits
    and changes waiting for approval written by others, and requests to cancel asked by others."""
    if actor.role not in ("approver", "admin"):
        return []
    query = select(Visit).where(or_(
        Visit.status == "pending_approval",
        (Visit.status == "approved") & Visit.cancel_requested_by.is_not(None))).order_by(Visit.id)
    if actor.scope is not None:
        query = query.where(Visit.centre_id.in_(actor.scope))
    with rt.sessions() as s:
        rows = list(s.scalars(query))
    me = actor.staff_id
    return [r for r in rows if me is None or (r.cancel_requested_by or r.author_id) != me]


def messages_of(rt, visit_id: int) -> list[Broadcast]:
    """The broadcasts a visit sent or will send (notice, reminder, corrections), oldest first."""
    with rt.sessions() as s:
        return list(s.scalars(select(Broadcast).where(Broadcast.visit_id == visit_id).order_by(Broadcast.id)))


def pending_edit(rt, visit_id: int) -> Visit | None:
    with rt.sessions() as s:
        return s.scalar(select(Visit).where(Visit.replaces_id == visit_id, Visit.status == "pending_approval"))


# --- changes --------------------------------------------------------------------------------------

def check(rt, service: str, day: date, starts: time, ends: time, office: str | None = None,
          notice: str | None = None) -> Details:
    """The details, tidied, or :class:`VisitError` saying what is wrong. With ``office`` (a
    code) the visit is that office's and ``service`` is set to its name; without, "other":
    ``service`` says who visits, as typed. ``notice``: the author's wording of the notice,
    held to :func:`~gateway.staff.visit_text.check_notice`'s rules."""
    try:
        notice = check_notice(notice)
    except ValueError as exc:
        raise VisitError(str(exc)) from None
    if office:
        try:
            office = office_code(office)
        except OfficeError as exc:
            raise VisitError(str(exc)) from None
        service = OFFICE_NAMES[office]
    service = " ".join((service or "").split())
    if not service:
        raise VisitError("name the service that visits (e.g. SASSA)")
    if len(service) > SERVICE_CHARS:
        raise VisitError(f"the service's name is {len(service)} characters: at most {SERVICE_CHARS} fit a phone's screen")
    if not is_gsm7(service):
        raise VisitError("the service's name has a character phones cannot show in a plain SMS: "
                         f"{next(ch for ch in service if not is_gsm7(ch))!r}")
    if ends <= starts:
        raise VisitError("the visit must end after it starts")
    now = rt.clock.local()
    if day < now.date() or (day == now.date() and ends <= now.time()):
        raise VisitError("that visit is already over")
    if day > now.date() + MAX_AHEAD:
        raise VisitError(f"{day:%-d %B %Y} is too far ahead: announce a visit at most a year before it "
                         f"(by {now.date() + MAX_AHEAD:%-d %B %Y})")
    return Details(service, day, starts, ends, office or None, notice)


def office_id(session, code: str | None) -> int | None:
    """The id of office ``code`` (None for none: an "other" visit)."""
    return None if code is None else session.scalar(select(Office.id).where(Office.code == code))


def name_of_centre(rt, centre_id: int) -> str:
    try:
        return centre_name(rt, centre_id)
    except LookupError as exc:
        raise VisitError(str(exc)) from None


def _check_centre(actor: Actor, centre_id: int) -> None:
    scope = actor.scope
    if scope is not None and centre_id not in scope:
        raise NotAllowed(f"centre {centre_id} is not one of your centres")


def _check_confirmed(rt, centre_id: int, details: Details, confirmed: str | None, ignore: set[int]) -> None:
    """:class:`Unconfirmed` unless the author confirmed exactly the warnings these details get."""
    found = warnings(rt, centre_id, details, ignore - {None})
    if found and not same(confirmed, digest(*found)):
        raise Unconfirmed(found)


def create(rt, actor: Actor, centre_id: int, details: Details, confirmed: str | None = None) -> Visit:
    """Register a visit: it waits for approval (two-person rule) or is approved at once.
    Details with :func:`warnings` need ``confirmed``: the :class:`Unconfirmed` digest of them."""
    _check_centre(actor, centre_id)
    name_of_centre(rt, centre_id)
    _check_confirmed(rt, centre_id, details, confirmed, set())
    return _propose(rt, actor, centre_id, details)


def _propose(rt, actor: Actor, centre_id: int, details: Details, replaces_id: int | None = None) -> Visit:
    """A new visit row waiting for approval (a new visit, or a new version of ``replaces_id``),
    released at once when the actor needs no approver."""
    with rt.sessions.begin() as s:
        row = Visit(centre_id=centre_id, service=details.service, office_id=office_id(s, details.office),
                    day=details.day, starts=details.starts, ends=details.ends, status="pending_approval",
                    replaces_id=replaces_id, author_id=actor.staff_id, notice=details.notice)
        s.add(row)
    if broadcasts.needs_approval(rt, actor):
        return row
    return _release(rt, row, actor.staff_id)


def approve(rt, actor: Actor, visit_id: int, seen: str) -> Visit:
    """Release a visit waiting for approval, if it is still what the approver saw (``seen``:
    :func:`~gateway.staff.visit_plan.approval_digest` when they opened it; else :class:`Changed`)."""
    row = _check_approver(rt, actor, visit_id)
    if row.status != "pending_approval":
        raise WrongState(f"visit {visit_id} is {row.status}: only one waiting for approval can be approved")
    if not same(seen, visit_plan.approval_digest(rt, row)):
        raise Changed()
    return _release(rt, row, actor.staff_id)


def reject(rt, actor: Actor, visit_id: int, reason: str, seen: str) -> Visit:
    """Turn a waiting visit down with a reason for its author, if it is still what was seen."""
    if not (reason or "").strip():
        raise VisitError("a rejection needs a reason for the author")
    row = _check_approver(rt, actor, visit_id)
    if row.status == "pending_approval" and not same(seen, visit_plan.approval_digest(rt, row)):
        raise Changed()
    with rt.sessions.begin() as s:
        moved = s.execute(update(Visit).where(Visit.id == visit_id, Visit.status == "pending_approval", *as_seen(row))
                          .values(status="rejected", rejected_reason=reason.strip(), updated_at=utcnow())).rowcount
    if not moved:
        _refused(rt, visit_id, "cannot reject it")
    return get(rt, visit_id)


def as_seen(row: Visit) -> tuple:
    """Conditions that hold while the row still has the details ``row`` had (a compare-and-set:
    an edit between the digest's check and the update leaves the update nothing to move)."""
    replaces = Visit.replaces_id.is_(None) if row.replaces_id is None else Visit.replaces_id == row.replaces_id
    office = Visit.office_id.is_(None) if row.office_id is None else Visit.office_id == row.office_id
    notice = Visit.notice.is_(None) if row.notice is None else Visit.notice == row.notice
    return (Visit.centre_id == row.centre_id, Visit.service == row.service, Visit.day == row.day,
            Visit.starts == row.starts, Visit.ends == row.ends, replaces, office, notice)


def _refused(rt, visit_id: int, what: str):
    now = get(rt, visit_id)
    if now.status == "pending_approval":
        raise Changed()
    raise WrongState(f"visit {visit_id} is {now.status}: {what}")


def _check_approver(rt, actor: Actor, visit_id: int) -> Visit:
    if actor.role not in ("approver", "admin"):
        raise NotAllowed("only an approver or an admin may approve or reject a visit")
    row = get_for(rt, actor, visit_id)
    if actor.staff_id is not None and actor.staff_id == row.author_id:
        raise NotAllowed("the author of a visit cannot approve or reject it: someone else must")
    return row


def edit(rt, actor: Actor, visit_id: int, details: Details, confirmed: str | None = None) -> Visit:
    """Change a visit. One waiting for approval changes in place; an approved one gets a new
    version that replaces it when approved (at once if the actor needs no approver)."""
    row = get_for(rt, actor, visit_id)
    if row.status not in OPEN:
        raise WrongState(f"visit {visit_id} is {row.status}: it cannot be changed")
    if row.cancel_requested_by is not None:
        raise WrongState(f"a request to cancel visit {visit_id} waits for an approver: it cannot be changed meanwhile")
    _check_confirmed(rt, row.centre_id, details, confirmed, {visit_id, row.replaces_id})
    if row.status == "pending_approval":
        with rt.sessions.begin() as s:
            s.execute(update(Visit).where(Visit.id == visit_id).values(
                service=details.service, office_id=office_id(s, details.office), day=details.day, starts=details.starts, ends=details.ends,
                notice=details.notice, author_id=actor.staff_id if actor.staff_id is not None else row.author_id, updated_at=utcnow()))
        return get(rt, visit_id)
    if _same_visit(rt, row, details):
        raise VisitError(f"visit {visit_id} was announced with this service, day and times: its notice has gone, "
                         "so new wording alone would tell nobody anything. Change the details, or cancel it")
    waiting = pending_edit(rt, visit_id)
    if waiting is not None:
        raise WrongState(f"a change to visit {visit_id} already waits for approval (visit {waiting.id}): "
                         "change or cancel that one")
    return _propose(rt, actor, row.centre_id, details, replaces_id=visit_id)


def _same_visit(rt, row: Visit, details: Details) -> bool:
    """Whether ``details`` announce what ``row`` announced (its notice's wording aside)."""
    with rt.sessions() as s:
        office = office_id(s, details.office)
    return (row.service, row.office_id, row.day, row.starts, row.ends) == (
        details.service, office, details.day, details.starts, details.ends)


def _release(rt, row: Visit, approved_by: int | None) -> Visit:
    """Approve ``row`` (as read; replacing the version it edits) and issue its messages."""
    visit_id = row.id
    with rt.sessions.begin() as s:
        moved = s.execute(update(Visit).where(Visit.id == visit_id, Visit.status == "pending_approval", *as_seen(row))
                          .values(status="approved", approved_by=approved_by, updated_at=utcnow())).rowcount
        if moved and row.replaces_id is not None:
            replaced = s.execute(update(Visit).where(Visit.id == row.replaces_id, Visit.status == "approved",
                                                     Visit.cancel_requested_by.is_(None))
                                 .values(status="replaced", updated_at=utcnow())).rowcount
            if not replaced:  # cancelled meanwhile (nothing to change), or its cancellation waits
                raise WrongState(f"visit {row.replaces_id}, which this changes, is no longer in force "
                                 "or waits to be cancelled")
    if not moved:
        _refused(rt, visit_id, "cannot approve it")
    row = get(rt, visit_id)
    centre = name_of_centre(rt, row.centre_id)
    if row.replaces_id is not None:
        old = get(rt, row.replaces_id)
        stop_messages(rt, old.id)
        correct(rt, old.id, change_text(old, row, centre), visit_id, approved_by)
    author = row.author_id
    notice = broadcasts.issue(rt, f"visit:{visit_id}", notice_text(row, centre), author_id=author,
                              approved_by=approved_by, visit_id=visit_id)
    at = reminder_at(row.day, utc(notice.scheduled_at), bulk.schedule_of(rt.settings))
    if at is not None:
        broadcasts.issue(rt, f"centre:{row.centre_id}", reminder_text(row, centre), author_id=author,
                         approved_by=approved_by, at=at, visit_id=visit_id)
    rt.directory.changed()
    log.info("visit %s approved: notice %s, reminder %s", visit_id, notice.id, at.isoformat() if at else "none")
    return row


def stop_messages(rt, visit_id: int) -> None:
    """Cancel what has not left of a visit's broadcasts (its reminder, unsent notices)."""
    for b in messages_of(rt, visit_id):
        if b.status in broadcasts.OPEN:
            try:
                broadcasts.cancel(rt, broadcasts.CLI, b.id)
            except broadcasts.WrongState:
                pass  # it finished meanwhile: nothing left to stop


def correct(rt, told_of: int, text: str, visit_id: int, approved_by: int | None) -> Broadcast | None:
    """A correction to everyone told of ``told_of`` (or the versions before it); none if nobody was."""
    target = parse(f"told:{told_of}")
    with rt.sessions() as s:
        if not count_recipients(s, target):
            return None
    author = get(rt, visit_id).author_id
    return broadcasts.issue(rt, str(target), text, author_id=author, approved_by=approved_by, visit_id=visit_id)
