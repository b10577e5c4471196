"""Texts to staff about approvals, on the phone of their account (a per-account setting).

Contract:
- :func:`set_texts` turns an account's texts on (from now: nothing that happened before is
  texted) or off, audited ``staff.changed``; :func:`texts_since` reads it (None: off).
- :func:`send_due` (a worker job after every sweep) texts each account with texts on and a
  phone: an author when an item of theirs is rejected (a broadcast, a visit, a centre change,
  a request to cancel a visit refused), and an approver or admin when an item they may decide
  (:func:`gateway.staff.approvals.waiting_for`: their centres, not their own) starts waiting.
  Only events after the account turned texts on and within :data:`HORIZON`.
- One text per item, event and person: the outbox row's idempotency key is
  ``staff:<event>:<kind>:<id>:<staff id>``, so a second run (or a second worker) writes
  nothing. Each text is an ordinary outbox row written with its ``staff.texted`` audit row in
  one transaction; the audit row names the account, the event and the item, never the number.
- The texts go on the bulk queue, so quiet hours hold them as they hold broadcasts (the same
  calendar, :mod:`gateway.sms.quiet_hours`): nobody is woken at night or on a Sunday; a
  number that has opted out of bulk (STOP) gets none.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from gateway import jobs
from gateway.runtime import Runtime
from gateway.sms.outbox import kick
from gateway.staff import approvals, audit
from gateway.staff.accounts import Member, list_staff
from gateway.staff.progress import utc
from gateway.store.models import Message, Staff
from menus.segments import measure

log = logging.getLogger(__name__)
ACTOR = "gateway"  # the audit actor of texts nobody typed
HORIZON = timedelta(days=2)  # older events are not texted (a worker down for a week wakes nobody with them)
TEXT_CHARS = 160  # one GSM-7 segment
REJECTED, WAITING = "rejected", "waiting"
_WHAT = {approvals.BROADCAST: "broadcast", approvals.VISIT: "service visit",
         approvals.VISIT_CANCEL: "request to cancel visit", approvals.CENTRE_CHANGE: "centre change"}


def texts_since(rt: Runtime, member: Member) -> datetime | None:
    """Since when ``member`` is texted about approvals; None: not texted."""
    with rt.sessions() as s:
        return utc(s.scalar(select(Staff.notice_texts_since).where(Staff.id == member.id)))


def set_texts(rt: Runtime, member: Member, on: bool, address: str | None = None) -> bool:
    """Turn ``member``'s approval texts on (from now) or off; True if that changed anything."""
    with rt.sessions.begin() as s:
        was = s.scalar(select(Staff.notice_texts_since).where(Staff.id == member.id))
        if (was is not None) == on:
            return False
        s.execute(update(Staff).where(Staff.id == member.id)
                  .values(notice_texts_since=rt.clock.now() if on else None))
        audit.record(s, member, "staff.changed", target=member.email, address=address,
                     detail={"field": "approval_texts", "from": was is not None, "to": on})
    return True


def _fit(head: str, tail: str, middle: str = "") -> str:
    """``head`` + ``middle`` + ``tail`` in one segment, cutting ``middle`` (a reason) to fit."""
    room = TEXT_CHARS - len(head) - len(tail)
    if len(middle) > room:
        middle = middle[:max(room - 1, 0)] + "…" if room > 1 else ""
    return head + middle + tail


def rejected_text(d: approvals.Decision) -> str:
    return _fit(f"Thusong: your {_WHAT[d.kind]} {d.id} was turned down. Reason: ", " See the dashboard.",
                " ".join((d.reason or "none given").split()))


def waiting_text(item: approvals.Item) -> str:
    return _fit(f"Thusong: a {_WHAT[item.kind]} ({item.id}) by ", " waits for your approval. See the dashboard.",
                item.author)


def _key(event: str, kind: str, item_id: int, staff_id: int) -> str:
    return f"staff:{event}:{kind}:{item_id}:{staff_id}"


def _write(rt: Runtime, member: Member, event: str, kind: str, item_id: int, text: str) -> bool:
    """The outbox row and its audit row, once per key; False if it was written before."""
    key = _key(event, kind, item_id, member.id)
    with rt.sessions() as s:
        if s.scalar(select(Message.id).where(Message.idempotency_key == key)) is not None:
            return False
    size = measure(text)
    try:
        with rt.sessions.begin() as s:
            row = Message(direction="out", idempotency_key=key, phone=member.phone, text=text, queue=jobs.QUEUE_BULK,
                          status="queued", segments=size.segments, encoding=size.encoding, attempts=0)
            s.add(row)
            s.flush()
            audit.record(s, ACTOR, "staff.texted", target=member.email,
                         detail={"event": event, "item": f"{kind} {item_id}", "message": row.id})
    except IntegrityError:  # another run wrote it between our look and our write
        return False
    return True


def _texted(rt: Runtime) -> list[tuple[Member, datetime]]:
    """Active accounts with a phone and texts on, with since when."""
    with rt.sessions() as s:
        since = dict(s.execute(select(Staff.id, Staff.notice_texts_since)
                               .where(Staff.notice_texts_since.is_not(None))).all())
    if not since:
        return []
    return [(m, utc(since[m.id])) for m in list_staff(rt.sessions) if m.id in since and m.active and m.phone]


def send_due(rt: Runtime) -> dict[str, int]:
    """Write the texts due now (see the module's contract); counts written by event."""
    written = {REJECTED: 0, WAITING: 0}
    people = _texted(rt)
    if not people:
        return written
    horizon = rt.clock.now() - HORIZON
    authors = {m.id: (m, since) for m, since in people}
    earliest = max(min(since for _m, since in people), horizon)
    for d in approvals.decisions_between(rt, earliest):
        if d.approved or d.author_id not in authors:
            continue
        member, since = authors[d.author_id]
        if d.at > since:
            written[REJECTED] += _write(rt, member, REJECTED, d.kind, d.id, rejected_text(d))
    for member, since in people:
        for item in approvals.waiting_for(rt, member):
            if item.since > max(since, horizon):
                written[WAITING] += _write(rt, member, WAITING, item.kind, item.id, waiting_text(item))
    if any(written.values()):
        kick(rt, jobs.QUEUE_BULK)
        log.info("staff texted about approvals: %s", written)
    return written
