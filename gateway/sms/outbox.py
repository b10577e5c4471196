"""Every outbound SMS is an outbox row written before anything is sent.

Contract: :func:`queue_sms` writes one ``Message`` (status ``queued``) under a unique
idempotency key and makes sure a send job is waiting (:func:`kick`); the same key again
changes nothing. :func:`queue_bulk` writes a broadcast's rows in chunks. Bulk rows are never
written for an opted-out number. Sending is :mod:`gateway.sms.sending`'s job.

Statuses: ``queued`` → ``sending`` → ``sent`` → ``delivered`` | ``failed`` (with a reason);
``retry`` (waiting out its back-off); ``simulated`` (no AT credentials); ``skipped`` (opted
out before it left); ``unknown`` (the request may have left; see :mod:`gateway.sms.sending`).
"""

from __future__ import annotations

import logging

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from gateway import jobs
from gateway.sms.consent import is_opted_out
from gateway.store.models import Citizen, Message, insert_message, utcnow
from menus.segments import measure

log = logging.getLogger(__name__)
SEND_JOB_TIMEOUT = 600  # RQ's limit: a slice, plus one batch's rate-limit wait and AT timeouts


def queue_sms(rt, phone: str, text: str, key: str, queue: str = jobs.QUEUE_REPLIES,
              sender: str | None = None, link_id: str | None = None) -> int | None:
    """Write the message (once per ``key``) and ask a worker to send it. None: opted out (bulk).
    ``sender``/``link_id``: the shortcode (and premium linkId) a reply goes from; default
    AT_SENDER_ID (see :func:`reply_route`)."""
    if queue == jobs.QUEUE_BULK and is_opted_out(rt, phone):
        return None
    size = measure(text)
    try:
        message_id = insert_message(
            rt.engine, direction="out", idempotency_key=key[:128], phone=phone, text=text, queue=queue,
            status="queued", segments=size.segments, encoding=size.encoding, sender=sender, link_id=link_id)
    except IntegrityError:
        with rt.sessions() as s:
            return s.scalar(select(Message.id).where(Message.idempotency_key == key[:128]))
    kick(rt, queue)
    return message_id


def reply_route(settings, inbound: Message) -> dict:
    """Where a reply to ``inbound`` goes from: the shortcode the citizen texted, if it is one of
    ours (``AT_SHORTCODES``), and for a premium one (``AT_PREMIUM_SHORTCODES``) with AT's
    linkId too; otherwise AT_SENDER_ID (empty)."""
    if inbound.sent_to and inbound.sent_to in settings.shortcodes:
        premium = inbound.sent_to in settings.premium_shortcodes
        return {"sender": inbound.sent_to, "link_id": inbound.link_id if premium else None}
    return {}


def queue_bulk(rt, phones: list[str], text: str, key_prefix: str, chunk: int = 500,
               broadcast_id: int | None = None) -> int:
    """One bulk row per number not opted out; returns how many were written.

    Rows go in ``chunk`` at a time, one transaction each; keys already present are skipped,
    so a re-run after a crash writes only what is missing. ``broadcast_id`` links the rows to
    their broadcast (progress, cancel).
    """
    size = measure(text)
    written = 0
    for start in range(0, len(phones), chunk):
        part = list(dict.fromkeys(phones[start:start + chunk]))
        keys = {phone: f"{key_prefix}:{phone}"[:128] for phone in part}
        try:
            with rt.sessions.begin() as s:
                out = set(s.scalars(select(Citizen.phone).where(Citizen.phone.in_(part),
                                                                Citizen.opted_out.is_(True))))
                have = set(s.scalars(select(Message.idempotency_key).where(
                    Message.idempotency_key.in_(list(keys.values())))))
                now = utcnow()
                rows = [{"direction": "out", "idempotency_key": keys[p], "phone": p, "text": text,
                         "queue": jobs.QUEUE_BULK, "status": "queued", "segments": size.segments,
                         "encoding": size.encoding, "broadcast_id": broadcast_id, "attempts": 0,
                         "created_at": now, "updated_at": now}
                        for p in part if p not in out and keys[p] not in have]
                if rows:  # one Core executemany: the ORM's unit of work cost ~0.5 ms a row
                    s.execute(insert(Message.__table__), rows)
            written += len(rows)
        except IntegrityError:  # another writer raced us on some key: fall back to row by row
            written += _queue_bulk_one_by_one(rt, part, keys, text, size, broadcast_id)
        kick(rt, jobs.QUEUE_BULK)  # the first rows can leave while the rest are written
    return written


def _queue_bulk_one_by_one(rt, phones: list[str], keys: dict[str, str], text: str, size,
                           broadcast_id: int | None) -> int:
    written = 0
    for phone in phones:
        if is_opted_out(rt, phone):
            continue
        try:
            with rt.sessions.begin() as s:
                s.add(Message(direction="out", idempotency_key=keys[phone], phone=phone, text=text,
                              queue=jobs.QUEUE_BULK, status="queued", segments=size.segments,
                              encoding=size.encoding, broadcast_id=broadcast_id))
            written += 1
        except IntegrityError:
            continue
    return written


def kick(rt, queue: str, force: bool = False) -> None:
    """Make sure a send job for ``queue`` is waiting (:func:`gateway.jobs.enqueue_once`).
    The replies' send job goes to the front of its queue: the account's rate is spent only
    while it runs (a bucket saves up at most a second), so it must not wait behind the jobs
    answering inbound SMS, which share the queue."""
    try:
        jobs.enqueue_once(rt, queue, jobs.SEND_PENDING, queue, flag=kick_flag(queue),
                          job_timeout=SEND_JOB_TIMEOUT, force=force, at_front=queue == jobs.QUEUE_REPLIES)
    except Exception:
        log.warning("could not enqueue a send job for %s; the sweeper will", queue)


def kick_flag(queue: str) -> str:
    """The Redis flag that says a send job for ``queue`` is waiting."""
    return f"sms:kick:{queue}"


def inbox(rt, phone: str, limit: int = 20) -> list[dict]:
    """What the service sent (or would have sent) to ``phone``, newest first (simulator)."""
    with rt.sessions() as s:
        rows = s.scalars(select(Message).where(Message.phone == phone, Message.direction == "out")
                         .order_by(Message.id.desc()).limit(limit))
        return [{"id": r.id, "text": r.text, "status": r.status, "segments": r.segments,
                 "created_at": r.created_at.isoformat(timespec="seconds")} for r in rows]


__all__ = ["queue_sms", "queue_bulk", "kick", "inbox"]
