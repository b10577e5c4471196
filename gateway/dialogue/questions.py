"""Citizens' questions and complaints: threads with a reference, routed to a centre.

Contract (records and reads; who may act on which centre is ``gateway.staff.questions``'s):

- :func:`route` picks the centre: the one the number most recently subscribed to; else the
  nearest to the place the citizen named; else None, the unassigned queue admins route.
- :func:`open_thread` refuses (``Opened.waiting``) when the number already has
  ``QUESTIONS_OPEN_PER_NUMBER`` open threads; otherwise writes the thread under a fresh
  reference (:mod:`gateway.dialogue.references`) with the citizen's first message.
- :func:`add_citizen_message` adds an SMS to a thread (reopening a closed one: the citizen
  still waits), :func:`add_answer` a staff answer together with its outbox row (one
  transaction: never an answer recorded and not sent, nor sent and not recorded),
  :func:`add_note` an internal note, :func:`close` and :func:`transfer` what their names say.
- :func:`threads` lists threads (oldest first) for some centres, :func:`thread` reads one
  with its messages; both give each thread's age in working hours and whether it is overdue
  (its oldest unanswered citizen message older than :data:`ANSWER_DAYS` working days:
  :mod:`gateway.sms.working_time`).

The SMS window (:data:`WINDOW`) is read by :func:`in_window`: the thread of the number's
latest staff answer within 3 days. ``now`` is injectable everywhere (default: the runtime's
clock). The functions taking ``session`` join the caller's transaction (for its audit row).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gateway.dialogue import references
from gateway.runtime import Runtime
from gateway.sms.outbox import kick
from gateway.sms.working_time import add_working_days, working_hours
from gateway.store.models import (
    Centre,
    Citizen,
    Message,
    Question,
    QuestionEntry,
    Staff,
    Subscription,
    as_utc,
)
from menus.segments import measure

KINDS = ("ask", "complain")
ANSWER_DAYS = 2  # the promise: an answer within 2 working days
WINDOW = timedelta(days=3)  # after a staff answer, any SMS from the number joins the thread
REPLIES = "replies"  # the outbox queue answers go on (jobs.QUEUE_REPLIES)


class QuestionError(ValueError):
    """A question action was refused: unknown reference, closed thread, empty text, unknown
    centre. The message is fit to show the person who asked."""


@dataclass(frozen=True)
class Entry:
    """One message of a thread: ``citizen``, ``answer`` or ``note``."""

    id: int
    kind: str
    text: str
    staff_id: int | None
    staff_name: str | None
    message_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class Thread:
    """A question as staff see it. ``age_hours``: working hours since it was opened;
    ``overdue``: open and its oldest unanswered message is past ``due_at``."""

    id: int
    ref: str
    phone: str
    kind: str
    language: str
    via: str
    centre_id: int | None
    centre_name: str | None
    status: str
    outcome: str | None
    created_at: datetime
    waiting_since: datetime | None
    due_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    age_hours: float
    overdue: bool
    entries: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class Opened:
    """What :func:`open_thread` did: a new ``thread``, or none and the ``waiting`` references."""

    thread: Thread | None
    waiting: tuple[str, ...] = ()


def _now(rt: Runtime, now: datetime | None) -> datetime:
    return now or rt.clock.now()


def _opt(dt: datetime | None) -> datetime | None:
    return as_utc(dt) if dt is not None else None


def _thread(q: Question, centre_name: str | None, now: datetime, entries: tuple[Entry, ...] = ()) -> Thread:
    due = _opt(q.due_at)
    return Thread(q.id, q.ref, q.phone, q.kind, q.language, q.via, q.centre_id, centre_name, q.status,
                  q.outcome, as_utc(q.created_at), _opt(q.waiting_since), due, _opt(q.answered_at),
                  _opt(q.closed_at), round(working_hours(as_utc(q.created_at), now), 1),
                  q.status == "open" and due is not None and now > due, entries)


def route(rt: Runtime, phone: str, place: str | None = None) -> int | None:
    """The centre a new question from ``phone`` goes to (see the module's contract)."""
    with rt.sessions() as s:
        subscribed = s.scalar(
            select(Subscription.centre_id).join(Citizen, Citizen.id == Subscription.citizen_id)
            .join(Centre, Centre.id == Subscription.centre_id)
            .where(Citizen.phone == phone, Subscription.ended_at.is_(None), Centre.active.is_(True))
            .order_by(Subscription.consented_at.desc(), Subscription.id.desc()).limit(1))
    if subscribed is not None:
        return subscribed
    if place:
        found = rt.directory.nearest(place, 1)
        if found.centres:
            return found.centres[0].centre.id
    return None


def open_refs(rt: Runtime, phone: str) -> tuple[str, ...]:
    """References of the number's open threads, oldest first."""
    with rt.sessions() as s:
        return tuple(s.scalars(select(Question.ref).where(Question.phone == phone, Question.status == "open")
                               .order_by(Question.created_at, Question.id)))


def open_thread(rt: Runtime, phone: str, kind: str, text: str, language: str, via: str, *,
                place: str | None = None, message_id: int | None = None, now: datetime | None = None,
                rng: random.Random | None = None) -> Opened:
    """Open a thread for ``phone`` with its first message, routed by :func:`route`."""
    if kind not in KINDS:
        raise QuestionError(f"unknown kind {kind!r}")
    now = _now(rt, now)
    waiting = open_refs(rt, phone)
    if len(waiting) >= rt.settings.QUESTIONS_OPEN_PER_NUMBER:
        return Opened(None, waiting)
    centre_id = route(rt, phone, place)
    with rt.sessions.begin() as s:
        q = references.insert_with_reference(s, lambda ref: Question(
            ref=ref, phone=phone, kind=kind, language=language, via=via, centre_id=centre_id, status="open",
            created_at=now, updated_at=now, waiting_since=now, due_at=add_working_days(now, ANSWER_DAYS)), rng)
        s.add(QuestionEntry(question_id=q.id, kind="citizen", text=text, message_id=message_id, created_at=now))
        name = s.scalar(select(Centre.name).where(Centre.id == centre_id)) if centre_id else None
        return Opened(_thread(q, name, now))


def in_window(rt: Runtime, phone: str, now: datetime | None = None) -> str | None:
    """The reference of the thread the number's latest staff answer within :data:`WINDOW` of
    ``now`` belongs to, or None (then the keyword grammar applies)."""
    now = _now(rt, now)
    with rt.sessions() as s:
        return s.scalar(select(Question.ref).where(
            Question.phone == phone, Question.answered_at.is_not(None), Question.answered_at > now - WINDOW,
            Question.answered_at <= now).order_by(Question.answered_at.desc()).limit(1))


def ref_of(rt: Runtime, phone: str, ref: str) -> str | None:
    """``ref`` if it is one of ``phone``'s threads (a reference is no key to another's)."""
    with rt.sessions() as s:
        return s.scalar(select(Question.ref).where(Question.ref == ref, Question.phone == phone))


def add_citizen_message(rt: Runtime, ref: str, text: str, message_id: int | None = None,
                        now: datetime | None = None) -> Thread:
    """Add the citizen's SMS to thread ``ref``: it is open (again) and waits for an answer."""
    now = _now(rt, now)
    with rt.sessions.begin() as s:
        q = _get(s, ref)
        s.add(QuestionEntry(question_id=q.id, kind="citizen", text=text, message_id=message_id, created_at=now))
        if q.status != "open":
            q.status, q.closed_at, q.closed_by = "open", None, None
        if q.waiting_since is None:
            q.waiting_since, q.due_at = now, add_working_days(now, ANSWER_DAYS)
        q.updated_at = now
        return _thread(q, _centre_name(s, q.centre_id), now)


def _get(s: Session, ref: str) -> Question:
    q = s.scalar(select(Question).where(Question.ref == ref).with_for_update())
    if q is None:
        raise QuestionError(f"no question {ref}")
    return q


def _centre_name(s: Session, centre_id: int | None) -> str | None:
    return s.scalar(select(Centre.name).where(Centre.id == centre_id)) if centre_id else None


def centre_of(rt: Runtime, ref: str) -> tuple[int | None, bool]:
    """(the centre thread ``ref`` is routed to, whether it exists)."""
    with rt.sessions() as s:
        row = s.execute(select(Question.id, Question.centre_id).where(Question.ref == ref)).first()
    return (row.centre_id, True) if row else (None, False)


def reply_route(rt: Runtime, session: Session, question_id: int) -> dict:
    """Where an answer goes from: the shortcode of the citizen's latest SMS in the thread
    (``gateway.sms.outbox.reply_route``); AT_SENDER_ID for a question asked on USSD."""
    latest = session.scalar(select(Message).join(QuestionEntry, QuestionEntry.message_id == Message.id).where(
        QuestionEntry.question_id == question_id, QuestionEntry.kind == "citizen", Message.direction == "in")
        .order_by(QuestionEntry.id.desc()).limit(1))
    if latest is None:
        return {}
    if latest.sent_to and latest.sent_to in rt.settings.shortcodes:
        premium = latest.sent_to in rt.settings.premium_shortcodes
        return {"sender": latest.sent_to, "link_id": latest.link_id if premium else None}
    return {}


def said_state(session: Session, q: Question) -> tuple[str, int | None, int | None]:
    """What an answer or a close is decided on: the thread's status, its centre and the id of
    its latest citizen message or answer (a note changes nothing: it is never sent)."""
    last = session.scalar(select(func.max(QuestionEntry.id)).where(
        QuestionEntry.question_id == q.id, QuestionEntry.kind.in_(("citizen", "answer"))))
    return q.status, q.centre_id, last


def add_answer(rt: Runtime, session: Session, ref: str, sms_text: str, text: str, staff_id: int | None,
               *, close: bool = False, outcome: str | None = None, now: datetime | None = None,
               check: Callable | None = None) -> Thread:
    """Record staff's answer ``text`` and queue ``sms_text`` (the whole SMS) to the citizen on
    the replies queue, in ``session``'s transaction; the send job is asked for after commit
    (the sweeper covers a lost ask). ``close`` closes the thread with ``outcome``. ``check``
    is called with :func:`said_state` once the row is locked and may raise to write nothing:
    a close or an answer landing after the caller last read the thread is seen here."""
    now = _now(rt, now)
    q = _get(session, ref)
    if check is not None:
        check(said_state(session, q))
    entry = QuestionEntry(question_id=q.id, kind="answer", text=text, staff_id=staff_id, created_at=now)
    session.add(entry)
    session.flush()
    size = measure(sms_text)
    sms = Message(direction="out", idempotency_key=f"q-answer:{entry.id}", phone=q.phone, text=sms_text,
                  queue=REPLIES, status="queued", segments=size.segments, encoding=size.encoding,
                  created_at=now, updated_at=now, **reply_route(rt, session, q.id))
    session.add(sms)
    session.flush()
    entry.message_id = sms.id
    q.answered_at, q.waiting_since, q.due_at, q.updated_at = now, None, None, now
    if close:
        _close(q, staff_id, outcome, now)
    return _thread(q, _centre_name(session, q.centre_id), now)


def after_answer(rt: Runtime) -> None:
    """Ask for a send job once the answer's transaction committed."""
    kick(rt, REPLIES)


def add_note(rt: Runtime, session: Session, ref: str, text: str, staff_id: int | None,
             now: datetime | None = None) -> None:
    """An internal note on thread ``ref`` (staff only; never sent)."""
    now = _now(rt, now)
    q = _get(session, ref)
    session.add(QuestionEntry(question_id=q.id, kind="note", text=text, staff_id=staff_id, created_at=now))
    q.updated_at = now


def _close(q: Question, staff_id: int | None, outcome: str | None, now: datetime) -> None:
    q.status, q.closed_at, q.closed_by, q.outcome = "closed", now, staff_id, (outcome or None)
    q.waiting_since = q.due_at = None


def close(rt: Runtime, session: Session, ref: str, staff_id: int | None, outcome: str | None = None,
          now: datetime | None = None, check: Callable | None = None) -> None:
    """Close thread ``ref`` with ``outcome``; refused when it is closed already. ``check`` as
    for :func:`add_answer`."""
    now = _now(rt, now)
    q = _get(session, ref)
    if check is not None:
        check(said_state(session, q))
    if q.status != "open":
        raise QuestionError(f"{ref} is closed already")
    _close(q, staff_id, outcome, now)
    q.updated_at = now


def transfer(rt: Runtime, session: Session, ref: str, centre_id: int, now: datetime | None = None) -> int | None:
    """Route thread ``ref`` to centre ``centre_id``; returns the centre it was at."""
    q = _get(session, ref)
    if session.get(Centre, centre_id) is None:
        raise QuestionError(f"no centre {centre_id}")
    before, q.centre_id, q.updated_at = q.centre_id, centre_id, _now(rt, now)
    return before


def threads(rt: Runtime, centre_ids: frozenset[int] | None, *, unassigned: bool = False, state: str = "open",
            now: datetime | None = None) -> list[Thread]:
    """Threads of ``centre_ids`` (None: every centre), with the unassigned ones when
    ``unassigned``; ``state`` "open", "overdue" or "all"; oldest first, without messages."""
    if state not in ("open", "overdue", "all"):
        raise QuestionError(f"unknown state {state!r}")
    now = _now(rt, now)
    query = select(Question, Centre.name).outerjoin(Centre, Centre.id == Question.centre_id)
    if centre_ids is not None:
        where = Question.centre_id.in_(sorted(centre_ids))
        query = query.where(or_(where, Question.centre_id.is_(None)) if unassigned else where)
    elif not unassigned:
        query = query.where(Question.centre_id.is_not(None))
    if state != "all":
        query = query.where(Question.status == "open")
    if state == "overdue":
        query = query.where(Question.due_at < now)
    with rt.sessions() as s:
        rows = s.execute(query.order_by(Question.created_at, Question.id)).all()
    return [_thread(q, name, now) for q, name in rows]


def thread(rt: Runtime, ref: str, now: datetime | None = None) -> Thread:
    """Thread ``ref`` with its messages, oldest first; :class:`QuestionError` if unknown."""
    now = _now(rt, now)
    with rt.sessions() as s:
        q = s.scalar(select(Question).where(Question.ref == ref))
        if q is None:
            raise QuestionError(f"no question {ref}")
        rows = s.execute(select(QuestionEntry, Staff.name).outerjoin(Staff, Staff.id == QuestionEntry.staff_id)
                         .where(QuestionEntry.question_id == q.id).order_by(QuestionEntry.id)).all()
        entries = tuple(Entry(e.id, e.kind, e.text, e.staff_id, name, e.message_id, as_utc(e.created_at))
                        for e, name in rows)
        return _thread(q, _centre_name(s, q.centre_id), now, entries)


def counts(rt: Runtime, now: datetime | None = None) -> dict[str, int]:
    """Open, overdue and closed threads: counts only (what analytics may keep)."""
    now = _now(rt, now)
    with rt.sessions() as s:
        by = dict(s.execute(select(Question.status, func.count()).group_by(Question.status)).all())
        overdue = s.scalar(select(func.count()).select_from(Question).where(
            Question.status == "open", Question.due_at < now))
    return {"open": by.get("open", 0), "closed": by.get("closed", 0), "overdue": overdue or 0}
