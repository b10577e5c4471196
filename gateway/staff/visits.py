"""Service visits: register, approve or reject, edit, cancel — and the messages each sends.

A visit ("SASSA at Kagiso Thusong, Tue 3 Dec, 09:00-14:00") is a directory fact (its model
is :class:`~gateway.store.models.Visit`; USSD and SMS read it through
:mod:`gateway.directory.visits`). Its messages are broadcasts (:func:`gateway.staff.broadcasts.issue`),
so scheduling, quiet hours, fan-out, exactly-once sending, cancel and progress are theirs:

    pending_approval ─approve→ approved ─(an approved edit)→ replaced
         └─reject→ rejected          └─cancel→ cancelled      (pending_approval ─cancel→ cancelled)

Contract:
- Scope as for broadcasts: an actor limited to some centres registers, sees and acts on the
  visits of those centres only (others are :class:`NotFound`). The two-person rule is the
  broadcasts' (:func:`~gateway.staff.broadcasts.needs_approval`): a clerk's visit, or edit,
  waits for an approver or admin who is not its author; anyone else's goes at once.
- On approval: a **notice** to the centre's subscribers (``visit:ID``: not those already told
  of an earlier version) at once or in the next quiet-hours window, and a **reminder** to the
  centre's subscribers at :func:`reminder_at`: the last bulk window before the visit's day, at
  :data:`REMINDER_TIME` if that window holds it — none when that window is the notice's own.
- An edit of an approved visit is a new version that replaces it once approved (the old one
  and its reminder stay in force meanwhile): the old version's unsent messages and reminder
  are cancelled, a **correction** goes to everyone already told (``told:ID``), and the new
  version gets its notice (to those not told) and reminder. Cancelling an approved visit
  cancels its unsent messages and reminder (and a change waiting for approval) and sends a
  correction to those told. A visit still
  waiting for approval is edited in place and cancelled silently: nobody was told.
- Every change to what citizens see calls :meth:`Directory.changed`, so USSD and SMS show it
  within a second. The web layer writes the audit rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update

from gateway.clock import SAST
from gateway.sms import bulk
from gateway.staff import broadcasts
from gateway.staff.broadcasts import Actor
from gateway.staff.progress import utc
from gateway.staff.targets import count_recipients, parse
from gateway.store.models import Broadcast, Centre, Visit, utcnow
from menus.render import short_centre_name
from menus.segments import is_gsm7
from menus.visits import short_day

log = logging.getLogger(__name__)
REMINDER_TIME = time(10)  # mid-morning: inside Saturday's 09:00-13:00 and a weekday's 08:00-20:00
REMINDER_MARGIN = timedelta(hours=1)  # a reminder starts at least this long before its window closes
LOOKBACK_DAYS = 7  # how far before the visit a reminder's window is looked for (Easter: 4 closed days)
SERVICE_CHARS = 24  # "Home Affairs mobile unit": fits a screen line beside the date in every language
OPEN = ("pending_approval", "approved")


class VisitError(ValueError):
    """A visit request was refused; the message says why. Subclasses say which kind."""


class NotAllowed(VisitError):
    """The actor may not do this (a centre not theirs, approving their own visit)."""


class WrongState(VisitError):
    """The visit is not in a state this step leaves (approving a cancelled one)."""


class NotFound(VisitError):
    """No visit has that id (or the actor may not see it)."""


@dataclass(frozen=True)
class Details:
    """What staff type: the service, the local day and times."""

    service: str
    day: date
    starts: time
    ends: time


def reminder_at(day: date, notice_at: datetime, schedule) -> datetime | None:
    """When the reminder of a visit on ``day`` goes, the notice going at ``notice_at``: in the
    last bulk window that opens before the day (the day before, or the last open one before
    it when that day is closed to bulk), at :data:`REMINDER_TIME` local if the window holds it
    (else as near as it allows, at least :data:`REMINDER_MARGIN` before it closes); ``None``
    when that window opens before the notice goes (the notice itself is the reminder)."""
    midnight = datetime.combine(day, time(0), SAST)
    last = None
    for start, end in schedule.windows_from(max(notice_at, midnight - timedelta(days=LOOKBACK_DAYS))):
        if start >= midnight:
            break
        last = (start, end)
    if last is None or last[0] <= notice_at:
        return None
    start, end = last
    preferred = datetime.combine(start.astimezone(SAST).date(), REMINDER_TIME, SAST)
    return min(max(preferred, start), max(start, end - REMINDER_MARGIN))


# --- what the messages say (English, as staff broadcasts are written) ---------------------------

def when_text(d: Details | Visit) -> str:
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


def messages_of(rt, visit_id: int) -> list[Broadcast]:
    """The broadcasts a visit sent or will send (notice, reminder, corrections), oldest first."""
    with rt.sessions() as s:
        return list(s.scalars(select(Broadcast).where(Broadcast.visit_id == visit_id).order_by(Broadcast.id)))


def pending_edit(rt, visit_id: int) -> Visit | None:
    with rt.sessions() as s:
        return s.scalar(select(Visit).where(Visit.replaces_id == visit_id, Visit.status == "pending_approval"))


# --- changes --------------------------------------------------------------------------------------

def check(rt, service: str, day: date, starts: time, ends: time) -> Details:
    """The details, tidied, or :class:`VisitError` saying what is wrong."""
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
    return Details(service, day, starts, ends)


def _centre_name(rt, centre_id: int) -> str:
    with rt.sessions() as s:
        name = s.scalar(select(Centre.name).where(Centre.id == centre_id))
    if name is None:
        raise VisitError(f"no centre with id {centre_id}")
    return short_centre_name(name)


def _check_centre(actor: Actor, centre_id: int) -> None:
    scope = actor.scope
    if scope is not None and centre_id not in scope:
        raise NotAllowed(f"centre {centre_id} is not one of your centres")


def create(rt, actor: Actor, centre_id: int, details: Details) -> Visit:
    """Register a visit: it waits for approval (two-person rule) or is approved at once."""
    _check_centre(actor, centre_id)
    _centre_name(rt, centre_id)
    return _propose(rt, actor, centre_id, details)


def _propose(rt, actor: Actor, centre_id: int, details: Details, replaces_id: int | None = None) -> Visit:
    """A new visit row waiting for approval (a new visit, or a new version of ``replaces_id``),
    released at once when the actor needs no approver."""
    with rt.sessions.begin() as s:
        row = Visit(centre_id=centre_id, service=details.service, day=details.day, starts=details.starts,
                    ends=details.ends, status="pending_approval", replaces_id=replaces_id, author_id=actor.staff_id)
        s.add(row)
    if broadcasts.needs_approval(rt, actor):
        return row
    return _release(rt, row.id, actor.staff_id)


def approve(rt, actor: Actor, visit_id: int) -> Visit:
    row = _check_approver(rt, actor, visit_id)
    if row.status != "pending_approval":
        raise WrongState(f"visit {visit_id} is {row.status}: only one waiting for approval can be approved")
    return _release(rt, visit_id, actor.staff_id)


def reject(rt, actor: Actor, visit_id: int, reason: str) -> Visit:
    if not (reason or "").strip():
        raise VisitError("a rejection needs a reason for the author")
    _check_approver(rt, actor, visit_id)
    with rt.sessions.begin() as s:
        moved = s.execute(update(Visit).where(Visit.id == visit_id, Visit.status == "pending_approval")
                          .values(status="rejected", rejected_reason=reason.strip(), updated_at=utcnow())).rowcount
    if not moved:
        raise WrongState(f"visit {visit_id} is {get(rt, visit_id).status}: cannot reject it")
    return get(rt, visit_id)


def _check_approver(rt, actor: Actor, visit_id: int) -> Visit:
    if actor.role not in ("approver", "admin"):
        raise NotAllowed("only an approver or an admin may approve or reject a visit")
    row = get_for(rt, actor, visit_id)
    if actor.staff_id is not None and actor.staff_id == row.author_id:
        raise NotAllowed("the author of a visit cannot approve or reject it: someone else must")
    return row


def edit(rt, actor: Actor, visit_id: int, details: Details) -> Visit:
    """Change a visit. One waiting for approval changes in place; an approved one gets a new
    version that replaces it when approved (at once if the actor needs no approver)."""
    row = get_for(rt, actor, visit_id)
    if row.status not in OPEN:
        raise WrongState(f"visit {visit_id} is {row.status}: it cannot be changed")
    if row.status == "pending_approval":
        with rt.sessions.begin() as s:
            s.execute(update(Visit).where(Visit.id == visit_id).values(
                service=details.service, day=details.day, starts=details.starts, ends=details.ends,
                author_id=actor.staff_id if actor.staff_id is not None else row.author_id, updated_at=utcnow()))
        return get(rt, visit_id)
    waiting = pending_edit(rt, visit_id)
    if waiting is not None:
        raise WrongState(f"a change to visit {visit_id} already waits for approval (visit {waiting.id}): "
                         "change or cancel that one")
    return _propose(rt, actor, row.centre_id, details, replaces_id=visit_id)


def cancel(rt, actor: Actor, visit_id: int) -> Visit:
    """Call a visit off. If citizens were told of it, they get a correction; no reminder goes."""
    row = get_for(rt, actor, visit_id)
    with rt.sessions.begin() as s:
        moved = s.execute(update(Visit).where(Visit.id == visit_id, Visit.status.in_(OPEN))
                          .values(status="cancelled", updated_at=utcnow())).rowcount
        # A change waiting for approval would change a visit that no longer takes place.
        s.execute(update(Visit).where(Visit.replaces_id == visit_id, Visit.status == "pending_approval")
                  .values(status="cancelled", updated_at=utcnow()))
    if not moved:
        raise WrongState(f"visit {visit_id} is {get(rt, visit_id).status}: it cannot be cancelled")
    if row.status == "approved":
        _stop_messages(rt, visit_id)
        _correct(rt, visit_id, cancel_text(row, _centre_name(rt, row.centre_id)), visit_id, actor.staff_id)
        rt.directory.changed()
    return get(rt, visit_id)


def _release(rt, visit_id: int, approved_by: int | None) -> Visit:
    """Approve ``visit_id`` (replacing the version it edits) and issue its messages."""
    with rt.sessions.begin() as s:
        row = s.get(Visit, visit_id)
        moved = s.execute(update(Visit).where(Visit.id == visit_id, Visit.status == "pending_approval")
                          .values(status="approved", approved_by=approved_by, updated_at=utcnow())).rowcount
        if not moved:
            raise WrongState(f"visit {visit_id} is {row.status}: cannot approve it")
        if row.replaces_id is not None:
            replaced = s.execute(update(Visit).where(Visit.id == row.replaces_id, Visit.status == "approved")
                                 .values(status="replaced", updated_at=utcnow())).rowcount
            if not replaced:  # the visit it changes was cancelled meanwhile: nothing to change
                raise WrongState(f"visit {row.replaces_id}, which this changes, is no longer in force")
    row = get(rt, visit_id)
    centre = _centre_name(rt, row.centre_id)
    if row.replaces_id is not None:
        old = get(rt, row.replaces_id)
        _stop_messages(rt, old.id)
        _correct(rt, old.id, change_text(old, row, centre), visit_id, approved_by)
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


def _stop_messages(rt, visit_id: int) -> None:
    """Cancel what has not left of a visit's broadcasts (its reminder, unsent notices)."""
    for b in messages_of(rt, visit_id):
        if b.status in broadcasts.OPEN:
            try:
                broadcasts.cancel(rt, broadcasts.CLI, b.id)
            except broadcasts.WrongState:
                pass  # it finished meanwhile: nothing left to stop


def _correct(rt, told_of: int, text: str, visit_id: int, approved_by: int | None) -> Broadcast | None:
    """A correction to everyone told of ``told_of`` (or the versions before it); none if nobody was."""
    target = parse(f"told:{told_of}")
    with rt.sessions() as s:
        if not count_recipients(s, target):
            return None
    author = get(rt, visit_id).author_id
    return broadcasts.issue(rt, str(target), text, author_id=author, approved_by=approved_by, visit_id=visit_id)
