"""A message log per number: what the service sent to one phone and received from it, newest
first, with the delivery state — for staff helping a citizen ("I never got the SMS").

Contract:
- :func:`in_scope` — whether ``member`` may read the number's log. Admins and approvers with no
  centre listed: every number. Anyone limited to centres
  (:func:`~gateway.staff.accounts.allowed_centre_ids`): a number that is (or was) subscribed to
  one of those centres, or was sent a message of a broadcast aimed at one of them (a staff
  broadcast to ``centre:ID``, or a service visit's notice, reminder or correction). An SMS a
  citizen sent names no centre in our records, so a number that only texted is not a clerk's
  to read; an admin can. Once a number is in scope its whole log is shown: the person at the
  counter is the citizen of that centre, and the messages about other things are theirs too.
- :func:`log_page` — one page of the log (``PER_PAGE`` rows, newest first).
- :func:`record` — the audit row of every look-up (in scope or not): the number masked as the
  logs show it and a keyed hash of it (:func:`gateway.staff.privacy.reference`, as privacy
  requests record it), never the number.
A number out of scope and a number with no messages read the same, so a clerk cannot learn
that a number is known to another centre.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from config import mask_phone
from gateway.runtime import Runtime
from gateway.staff import audit, privacy
from gateway.staff.accounts import Member, allowed_centre_ids
from gateway.staff.holders import Subject
from gateway.staff.progress import utc
from gateway.staff.targets import named_centres, parse
from gateway.store.models import Broadcast, Citizen, Message, Subscription, Visit

PER_PAGE = 50
# What each outbox or inbox state means to a person at the counter.
STATES = {
    "queued": "waiting to be sent", "sending": "being sent", "retry": "waiting to be sent again",
    "unknown": "outcome not known yet", "sent": "sent (no delivery report yet)", "delivered": "delivered",
    "failed": "not delivered", "skipped": "not sent", "simulated": "recorded, not sent (no SMS account)",
    "received": "received", "processing": "received", "processed": "received and answered",
}


@dataclass(frozen=True)
class Entry:
    """One SMS: when (UTC), ``in`` or ``out``, its text, its state and AT's (or our) reason."""

    at: datetime
    direction: str
    text: str
    status: str
    failure_reason: str | None

    @property
    def state(self) -> str:
        return STATES.get(self.status, self.status)


@dataclass(frozen=True)
class LogPage:
    entries: list[Entry]
    number: int
    pages: int
    total: int


def in_scope(rt: Runtime, member: Member, phone: str) -> bool:
    """Whether ``member`` may read ``phone``'s log (see the module's contract)."""
    scope = allowed_centre_ids(member)
    if scope is None:
        return True
    if not scope:
        return False
    wanted = sorted(scope)
    with rt.sessions() as s:
        if s.scalar(select(Subscription.id).join(Citizen, Citizen.id == Subscription.citizen_id)
                    .where(Citizen.phone == phone, Subscription.centre_id.in_(wanted)).limit(1)) is not None:
            return True
        sent = select(Message.broadcast_id).where(Message.phone == phone, Message.broadcast_id.is_not(None)).distinct()
        if s.scalar(select(Visit.id).join(Broadcast, Broadcast.visit_id == Visit.id)
                    .where(Broadcast.id.in_(sent), Visit.centre_id.in_(wanted)).limit(1)) is not None:
            return True
        targets = s.scalars(select(Broadcast.target).where(Broadcast.id.in_(sent),
                                                           Broadcast.target.startswith("centre:")))
        return any((named_centres(parse(t)) or frozenset()) & scope for t in targets)


def log_page(rt: Runtime, phone: str, number: int = 1, per_page: int = PER_PAGE) -> LogPage:
    """Page ``number`` (from 1; clamped) of ``phone``'s messages, newest first."""
    where = Message.phone == phone
    with rt.sessions() as s:
        total = s.scalar(select(func.count()).select_from(Message).where(where)) or 0
        pages = max(1, -(-total // per_page))
        number = min(max(1, number), pages)
        rows = s.execute(select(Message.created_at, Message.direction, Message.text, Message.status,
                                Message.failure_reason).where(where)
                         .order_by(Message.created_at.desc(), Message.id.desc())
                         .limit(per_page).offset((number - 1) * per_page)).all()
    return LogPage([Entry(utc(at), d, text, status, reason) for at, d, text, status, reason in rows],
                   number, pages, total)


def record(rt: Runtime, member: Member, phone: str, address: str | None, **detail) -> None:
    """The look-up's audit row: masked number, keyed reference, what was shown — never the number."""
    subject = Subject(phone, rt.settings)
    audit.record(rt, member, "messages.looked_up", target=mask_phone(phone), address=address,
                 detail={"ref": privacy.reference(subject), **detail})
