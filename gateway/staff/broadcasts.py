"""Broadcasts: compose, approve or reject, schedule, fan out, cancel, and count progress.

A broadcast moves along the named transitions of ``BROADCAST_TRANSITIONS`` (in
:mod:`gateway.store.models`, checked here at import) and nowhere else:

    draft ─submit→ pending_approval ─approve→ approved ─schedule→ scheduled ─start→ sending
      └──────────────approve (no second person needed)──┘          sending ⇄ paused (quiet hours)
    pending_approval ─reject→ rejected;   sending ─finish→ sent;   cancel from any open state

Contract:
- Scope: an :class:`Actor` whose account is limited to some centres (a clerk always; an
  approver who lists centres) may compose only ``centre:ID[,ID]`` among them (else
  :class:`NotAllowed`, saying which), and sees — lists, opens, approves, cancels — only the
  broadcasts aimed at those centres or written by them (:func:`visible`); any other id is
  :class:`NotFound`, as if it did not exist. A clerk cancels only their own broadcasts.
- :func:`create` checks the target (naming what exists if it names nothing) and the send time
  (:func:`check_start`: not already past) and stores a draft with its full text and the
  recipient count at composing; :func:`submit` sends it for
  approval when the two-person rule applies (``BROADCAST_APPROVAL`` on and the author a
  clerk), else schedules it at once.
- :func:`approve` needs an approver or admin who is not the author; :func:`reject` also needs
  a reason, kept for the author to read. Both take what the approver saw (:func:`seen_digest`
  of the text, audience and time when they opened it): a broadcast changed since is
  :class:`Changed`, and nothing is sent or changed.
- Scheduling queues the fan-out with RQ's ``enqueue_at`` at :func:`starts_at` — the requested
  time, moved to the next quiet-hours window if it falls outside one; ``scheduled_at`` records
  that moment. With Redis down the broadcast is still scheduled (and the caller told so, not
  shown an error): the sweeper queues the fan-out of a scheduled broadcast left without one.
- :func:`fan_out` (a worker job) writes one outbox row per recipient in chunks, each its own
  transaction, under the key ``bc:<id>:<phone>``: re-running it writes only what is missing.
- A broadcast may resubmit a rejected one (``resubmits``: only its author's, and only while it
  is rejected, :func:`check_resubmits`); it is a new draft like any other — composed, checked,
  submitted and approved the same way — and the rejected one stays rejected.
- :func:`issue` stores and schedules one approved elsewhere (a service visit's messages).
- :func:`cancel` stops what has not left: waiting rows become ``skipped`` (``Cancelled``);
  one with nothing left to stop is :class:`NotCancellable`, saying why (sent, rejected…).
- :func:`progress`: queued / sent / delivered / failed / opted-out / cancelled counts;
  :func:`failures` the reasons rows did not go; :func:`start_of` when a broadcast will start
  (from :mod:`gateway.staff.progress`, named here too for callers of this module).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy import func, or_, select, update

from gateway import jobs
from gateway.clock import SAST
from gateway.sms import bulk
from gateway.sms.outbox import queue_bulk
from gateway.staff.accounts import Member, centre_scope
from gateway.staff.preview import Preview, full_text, measure_text
from gateway.staff.progress import Start as Start
from gateway.staff.progress import failures as failures
from gateway.staff.progress import progress as progress
from gateway.staff.progress import start_of as start_of
from gateway.staff.progress import starts_at, utc
from gateway.staff.seen import CHANGED, digest, same
from gateway.staff.targets import (
    Target,
    check_language,
    count_recipients,
    named_centres,
    parse,
    recipients,
)
from gateway.staff.visit_text import PLACEHOLDERS
from gateway.store.models import (
    BROADCAST_STATES,
    BROADCAST_TRANSITIONS,
    Broadcast,
    Message,
    Staff,
    utcnow,
)

log = logging.getLogger(__name__)
FAN_OUT_CHUNK = 1000
OPEN = BROADCAST_TRANSITIONS["cancel"][0]
DONE = frozenset(BROADCAST_STATES) - OPEN


class BroadcastError(ValueError):
    """A broadcast request was refused; the message says why. Subclasses say which kind."""


class NotAllowed(BroadcastError):
    """The actor may not do this (approve their own broadcast, approve without the role,
    target a centre that is not theirs)."""


class WrongState(BroadcastError):
    """The broadcast is not in a state this transition leaves (e.g. approving a sent one)."""


class NotCancellable(WrongState):
    """Nothing of the broadcast is left to stop (sent, rejected, already cancelled, or every
    message already handed to the network); the message says which."""


class NotFound(BroadcastError):
    """No broadcast has that id."""


class Changed(BroadcastError):
    """The broadcast is no longer what the approver saw (:func:`seen_digest`): its text,
    audience or time changed since they opened it. Nothing was sent or changed."""

    def __init__(self) -> None:
        super().__init__(CHANGED)


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member (id, role, the centres their account lists) or the command
    line (no id, counts as admin). :attr:`scope` applies
    :func:`~gateway.staff.accounts.allowed_centre_ids`: a clerk with no centres may act for none."""

    staff_id: int | None
    role: str
    name: str = ""
    centres: frozenset[int] = frozenset()

    @classmethod
    def of(cls, member: Member) -> Actor:
        return cls(member.id, member.role, member.email, member.centre_ids)

    @property
    def scope(self) -> frozenset[int] | None:
        """The centres this actor may act for; ``None``: every centre."""
        return centre_scope(self.role, self.centres)


CLI = Actor(None, "admin", "cli")


def _check_transitions() -> None:
    states = set(BROADCAST_STATES)
    for name, (sources, target) in BROADCAST_TRANSITIONS.items():
        if not sources <= states or target not in states:
            raise RuntimeError(f"broadcast transition {name!r} names an unknown state")
    reached = {t for _s, t in BROADCAST_TRANSITIONS.values()} | {"draft"}
    if reached != states:
        raise RuntimeError(f"broadcast states never reached: {sorted(states - reached)}")


_check_transitions()


def get(rt, broadcast_id: int) -> Broadcast:
    with rt.sessions() as s:
        row = s.get(Broadcast, broadcast_id)
    if row is None:
        raise NotFound(f"no broadcast {broadcast_id}")
    return row


def visible(actor: Actor, row: Broadcast) -> bool:
    """Whether ``actor`` may see ``row``: every centre's actors see all; others see what they
    wrote and what is aimed only at centres of theirs."""
    scope = actor.scope
    if scope is None or (actor.staff_id is not None and row.author_id == actor.staff_id):
        return True
    named = named_centres(parse(row.target))
    return bool(named) and named <= scope


def get_for(rt, actor: Actor, broadcast_id: int) -> Broadcast:
    """:func:`get`, but :class:`NotFound` for a broadcast ``actor`` may not see."""
    row = get(rt, broadcast_id)
    if not visible(actor, row):
        raise NotFound(f"no broadcast {broadcast_id}")
    return row


def check_scope(actor: Actor, target: Target) -> None:
    """Refuse (:class:`NotAllowed`) a target reaching beyond the actor's centres."""
    scope = actor.scope
    if scope is None:
        return
    if not scope:
        raise NotAllowed("your account has no centre to send to: ask an administrator")
    named = named_centres(target)
    if named is None:
        raise NotAllowed(f"you may send only to your own centres (centre:ID), not to {target}")
    outside = sorted(named - scope)
    if outside:
        raise NotAllowed(f"centre {', '.join(map(str, outside))} is not one of your centres")


def _move(rt, broadcast_id: int, name: str, *where, **values) -> Broadcast:
    """Apply transition ``name`` (and ``values``; only while ``where`` holds) or raise
    :class:`WrongState` (:class:`Changed` when the state allows it but ``where`` no longer holds)."""
    with rt.sessions.begin() as s:
        moved = s.execute(bulk.transition(name, Broadcast.id == broadcast_id, *where).values(**values)).rowcount
    row = get(rt, broadcast_id)
    if not moved and where and row.status in BROADCAST_TRANSITIONS[name][0]:
        raise Changed()
    if not moved:
        raise WrongState(f"broadcast {broadcast_id} is {row.status}: cannot {name} it")
    return row


def compose(rt, target_spec: str, text: str, language: str | None = None,
            actor: Actor = CLI) -> tuple[str, Preview]:
    """(normalised target, preview) for a message not yet stored; raises on a bad target or
    one outside ``actor``'s centres."""
    target, language = parse(target_spec), check_language(language)
    check_scope(actor, target)
    if not text.strip():
        raise BroadcastError("the message is empty")
    unfilled = [p for p in PLACEHOLDERS if "{" + p + "}" in text]
    if unfilled:  # a visit notice's wording (a template): sent as typed, citizens would read the braces
        raise BroadcastError(f"the message has {{{unfilled[0]}}}, which only a visit notice fills in: "
                             "write the words instead")
    with rt.sessions() as s:
        count = count_recipients(s, target, language)
    return str(target), measure_text(rt.settings, full_text(rt.settings, text, language), count)


def check_start(rt, at: datetime | None) -> None:
    """Refuse (:class:`BroadcastError`) a requested send time that has passed: it would go at
    once, which is not what its author asked. The minute now still counts as now."""
    if at is None:
        return
    if at.tzinfo is None:
        raise BroadcastError("the send time needs a UTC offset (e.g. 2026-12-01T09:00+02:00)")
    now = rt.clock.now()
    if at < now.replace(second=0, microsecond=0):
        raise BroadcastError(f"the send time {_in_words(at)} has already passed (it is now {_in_words(now)} "
                             "South African time): choose a later time, or send now")


def _in_words(at: datetime) -> str:
    """``Thu 10 Dec 2026 09:00`` in South African time (in its own offset if out of range)."""
    try:
        at = at.astimezone(SAST)
    except OverflowError:  # 0001-01-01T00:00+02:00 has no UTC
        pass
    return f"{at:%a} {at.day} {at:%b} {at.year:04d} {at:%H:%M}"


def create(rt, actor: Actor, target_spec: str, text: str, language: str | None = None,
           at: datetime | None = None, resubmits: int | None = None) -> Broadcast:
    """A draft broadcast (nothing is sent until :func:`submit`); a send time already past is
    refused (:func:`check_start`). ``resubmits``: the rejected broadcast this one edits
    (:func:`check_resubmits`); it goes through submit and approval like any other."""
    target, preview = compose(rt, target_spec, text, language, actor)
    check_start(rt, at)
    if resubmits is not None:
        check_resubmits(rt, actor, resubmits)
    with rt.sessions.begin() as s:
        row = Broadcast(author_id=actor.staff_id, target=target, language=language, text=text.strip(),
                        full_text=preview.text, status="draft", scheduled_at=utc(at),
                        recipients=preview.recipients, resubmits_id=resubmits)
        s.add(row)
    return row


def check_resubmits(rt, actor: Actor, broadcast_id: int) -> Broadcast:
    """The broadcast ``actor`` resubmits: a rejected one of their own (else :class:`NotAllowed`)."""
    row = get_for(rt, actor, broadcast_id)
    if row.status != "rejected" or row.author_id is None or row.author_id != actor.staff_id:
        raise NotAllowed(f"broadcast {broadcast_id} is not a rejected broadcast of yours: it cannot be resubmitted")
    return row


def issue(rt, target_spec: str, text: str, *, author_id: int | None, approved_by: int | None,
          at: datetime | None = None, visit_id: int | None = None) -> Broadcast:
    """A broadcast whose words and audience were approved elsewhere (a service visit's notice,
    reminder or correction: :mod:`gateway.staff.visits` checks the scope and the two-person
    rule on the visit): stored, approved and scheduled at once — at ``at`` or the next
    quiet-hours window — and from there the same as any other broadcast."""
    target = parse(target_spec)
    with rt.sessions.begin() as s:
        count = count_recipients(s, target)
        row = Broadcast(author_id=author_id, target=str(target), language=None, text=text.strip(),
                        full_text=full_text(rt.settings, text, None), status="draft", scheduled_at=utc(at),
                        recipients=count, visit_id=visit_id)
        s.add(row)
    _move(rt, row.id, "approve", approved_by=approved_by)
    return _schedule(rt, row.id)


def needs_approval(rt, author: Actor) -> bool:
    return rt.settings.broadcast_approval and author.role == "clerk"


def submit(rt, actor: Actor, broadcast_id: int) -> Broadcast:
    """Send for approval (two-person rule) or schedule at once."""
    if needs_approval(rt, actor):
        return _move(rt, broadcast_id, "submit")
    _move(rt, broadcast_id, "approve", approved_by=actor.staff_id)
    return _schedule(rt, broadcast_id)


def seen_digest(row: Broadcast) -> str:
    """What an approver of ``row`` reads and decides on: its audience, language, exact text
    and requested time (:mod:`gateway.staff.seen`)."""
    at = utc(row.scheduled_at)
    return digest("broadcast", row.id, row.target, row.language, row.full_text, at.isoformat() if at else None)


def _as_seen(row: Broadcast) -> tuple:
    """Conditions that hold while the row has what ``row`` had (compare-and-set with the check)."""
    language = Broadcast.language.is_(None) if row.language is None else Broadcast.language == row.language
    at = Broadcast.scheduled_at.is_(None) if row.scheduled_at is None else Broadcast.scheduled_at == row.scheduled_at
    return (Broadcast.target == row.target, Broadcast.full_text == row.full_text, language, at)


def _check_seen(row: Broadcast, seen: str) -> None:
    if row.status == "pending_approval" and not same(seen, seen_digest(row)):
        raise Changed()


def approve(rt, actor: Actor, broadcast_id: int, seen: str) -> Broadcast:
    """Release a broadcast waiting for approval, if it is still what the approver saw
    (``seen``: its :func:`seen_digest` when they opened it; else :class:`Changed`)."""
    row = _check_approver(rt, actor, broadcast_id)
    if row.status != "pending_approval":
        raise WrongState(f"broadcast {broadcast_id} is {row.status}: only one pending approval can be approved")
    _check_seen(row, seen)
    _move(rt, broadcast_id, "approve", *_as_seen(row), approved_by=actor.staff_id)
    return _schedule(rt, broadcast_id)


def reject(rt, actor: Actor, broadcast_id: int, reason: str, seen: str) -> Broadcast:
    """Turn a waiting broadcast down with a reason for its author, if it is still what was seen."""
    if not reason.strip():
        raise BroadcastError("a rejection needs a reason for the author")
    row = _check_approver(rt, actor, broadcast_id)
    _check_seen(row, seen)
    return _move(rt, broadcast_id, "reject", *_as_seen(row), rejected_reason=reason.strip())


def _check_approver(rt, actor: Actor, broadcast_id: int) -> Broadcast:
    if actor.role not in ("approver", "admin"):
        raise NotAllowed("only an approver or an admin may approve or reject a broadcast")
    row = get_for(rt, actor, broadcast_id)
    if actor.staff_id == row.author_id:
        raise NotAllowed("the author of a broadcast cannot approve or reject it: someone else must")
    return row


def _schedule(rt, broadcast_id: int) -> Broadcast:
    start = starts_at(rt, get(rt, broadcast_id).scheduled_at)
    row = _move(rt, broadcast_id, "schedule", scheduled_at=utc(start))
    queue = rt.queue(jobs.QUEUE_BULK)
    try:
        if start <= rt.clock.now():
            queue.enqueue(jobs.FAN_OUT, broadcast_id, job_timeout=jobs.FAN_OUT_TIMEOUT)
        else:
            queue.enqueue_at(start, jobs.FAN_OUT, broadcast_id, job_timeout=jobs.FAN_OUT_TIMEOUT)
    except RedisError as exc:
        # The row is the promise, the job only a prompt: the sweeper starts a scheduled broadcast
        # whose job never came (bulk.restart_stalled_fan_outs), so it is accepted, not refused.
        log.warning("broadcast %s scheduled but its fan-out job not queued (%s): the sweeper starts it",
                    broadcast_id, exc)
    return row


def fan_out(rt, broadcast_id: int, chunk: int = FAN_OUT_CHUNK) -> int:
    """Write the outbox rows (worker job; safe to run again). Returns rows written now."""
    row = get(rt, broadcast_id)
    if row.status == "scheduled":
        try:
            row = _move(rt, broadcast_id, "start")
        except WrongState:  # another copy of this job started it first: go on, rows are keyed
            row = get(rt, broadcast_id)
    if row.status not in ("sending", "paused") or row.fanned_out_at is not None:
        return 0
    with rt.sessions() as s:
        phones = recipients(s, parse(row.target), row.language)
    written = 0
    for start in range(0, len(phones), chunk):
        if get(rt, broadcast_id).status == "cancelled":
            break
        written += queue_bulk(rt, phones[start:start + chunk], row.full_text, f"bc:{broadcast_id}",
                              chunk=chunk, broadcast_id=broadcast_id)
        with rt.sessions.begin() as s:  # a heartbeat: the sweeper restarts a fan-out that stopped
            s.execute(update(Broadcast).where(Broadcast.id == broadcast_id).values(updated_at=utcnow()))
    if get(rt, broadcast_id).status == "cancelled":
        _skip_waiting(rt, broadcast_id)  # a chunk that raced the cancel
        return written
    with rt.sessions.begin() as s:
        total = s.scalar(select(func.count()).where(Message.broadcast_id == broadcast_id))
        s.execute(update(Broadcast).where(Broadcast.id == broadcast_id)
                  .values(fanned_out_at=utcnow(), recipients=total, updated_at=utcnow()))
    bulk.finish_done(rt)
    log.info("broadcast %s fanned out: %s rows written now", broadcast_id, written)
    return written


# Why a broadcast in a finished state cannot be cancelled, in the words the pages show.
NOT_CANCELLABLE = {
    "sent": "Broadcast {id} has been sent: every message has gone to the network, and a sent SMS cannot be "
            "called back. Nothing was cancelled.",
    "cancelled": "Broadcast {id} is already cancelled.",
    "rejected": "Broadcast {id} was rejected: it was never sent, so there is nothing to cancel.",
}
NOTHING_LEFT = ("Broadcast {id} has no message left to stop: every one has gone to the network. "
                "Nothing was cancelled.")


def cancellable(row: Broadcast, waiting: int) -> bool:
    """Whether cancelling ``row`` would still stop something: it is open and either not every
    row is written yet or ``waiting`` rows have not left."""
    return row.status in OPEN and (row.fanned_out_at is None or waiting > 0)


def _check_cancellable(rt, row: Broadcast) -> None:
    if row.status not in OPEN:
        raise NotCancellable(NOT_CANCELLABLE.get(row.status, "Broadcast {id} cannot be cancelled.").format(id=row.id))
    if not cancellable(row, progress(rt, row.id)["queued"]):
        raise NotCancellable(NOTHING_LEFT.format(id=row.id))


def cancel(rt, actor: Actor, broadcast_id: int) -> Broadcast:
    """Stop what has not been sent. Rows already handed to AT cannot be called back: a
    broadcast with none left to stop is :class:`NotCancellable`, saying why."""
    row = get_for(rt, actor, broadcast_id)
    if actor.role == "clerk" and row.author_id != actor.staff_id:
        raise NotAllowed("a clerk may cancel only their own broadcasts")
    _check_cancellable(rt, row)
    try:
        row = _move(rt, broadcast_id, "cancel")
    except WrongState:  # it finished between the check and the move
        _check_cancellable(rt, get(rt, broadcast_id))
        raise
    _skip_waiting(rt, broadcast_id)
    return row


def _skip_waiting(rt, broadcast_id: int) -> None:
    with rt.sessions.begin() as s:
        s.execute(update(Message).where(Message.broadcast_id == broadcast_id, Message.status.in_(("queued", "retry")))
                  .values(status="skipped", failure_reason="Cancelled", updated_at=utcnow()))


def list_broadcasts(rt, limit: int = 50, actor: Actor = CLI, status: str | None = None,
                    author_id: int | None = None) -> list[Broadcast]:
    """The newest broadcasts ``actor`` may see, newest first (by creation); only those in
    ``status`` or written by ``author_id`` when given."""
    query = select(Broadcast).order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
    if status:
        query = query.where(Broadcast.status == status)
    if author_id is not None:
        query = query.where(Broadcast.author_id == author_id)
    with rt.sessions() as s:
        if actor.scope is None:
            return list(s.scalars(query.limit(limit)))
        query = query.where(or_(Broadcast.author_id == actor.staff_id, Broadcast.target.startswith("centre:")))
        found: list[Broadcast] = []
        for row in s.scalars(query.execution_options(yield_per=500)):
            if visible(actor, row):
                found.append(row)
                if len(found) == limit:
                    break
        return found


def authors(rt, actor: Actor = CLI, scan: int = 1000) -> list[tuple[int, str]]:
    """(staff id, name) of who wrote the broadcasts ``actor`` may see — among the newest
    ``scan`` for an actor limited to some centres — by name: the list's author filter."""
    with rt.sessions() as s:
        if actor.scope is None:
            ids = set(s.scalars(select(Broadcast.author_id).where(Broadcast.author_id.is_not(None)).distinct()))
        else:
            ids = {row.author_id for row in list_broadcasts(rt, scan, actor) if row.author_id is not None}
        rows = s.execute(select(Staff.id, Staff.name, Staff.email).where(Staff.id.in_(ids))).all() if ids else []
    return sorted(((i, name or email) for i, name, email in rows), key=lambda r: r[1].lower())
