"""Inbound SMS: stored first, answered by a worker.

Contract: :func:`store` writes the SMS as a ``Message`` row keyed by AT's ``id`` and only then
lets the webhook answer 200; a repeat of the same ``id`` (AT retries for 12 h) returns False and
changes nothing. Processing runs in a worker on the ``replies`` queue: :func:`drain` answers
every stored row, oldest first. One waiting drain job is enough, so ``store`` queues one only
when none is waiting (a Redis flag the job clears before it looks for rows): under a burst the
webhook costs one insert and one SET, not an RQ enqueue per SMS. :func:`requeue_stale` (the
sweeper) covers a job that never ran (Redis down when the SMS arrived) and a worker killed
mid-answer.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from gateway import jobs
from gateway.channels.africastalking import InboundSms
from gateway.sms import consent
from gateway.sms.outbox import queue_sms, reply_route
from gateway.sms.replies import answer
from gateway.store.models import Message, insert_message, utcnow
from menus.keywords import parse

log = logging.getLogger(__name__)
KICK_FLAG = "sms:in:kick"
PROCESSING_LEASE = timedelta(minutes=5)
DRAIN_SLICE_SECONDS = 60.0
DRAIN_JOB_TIMEOUT = 300


def inbound_key(at_id: str) -> str:
    return f"at-in:{at_id}"


def store(rt, sms: InboundSms) -> bool:
    """Persist ``sms``; make sure a drain job will answer it. False if AT already gave us this id."""
    try:
        message_id = insert_message(
            rt.engine, direction="in", idempotency_key=inbound_key(sms.at_id), phone=sms.phone,
            text=sms.text, status="received", at_message_id=sms.at_id, link_id=sms.link_id, sent_to=sms.to,
            network_code=sms.network_code, cost=sms.cost)
    except IntegrityError:
        return False
    try:
        kick(rt)
    except Exception:
        # Stored is what matters for AT's 200; the sweeper queues a drain once Redis is back.
        log.warning("inbound sms %s stored but not queued; the sweeper will pick it up", message_id)
    return True


def kick(rt, force: bool = False) -> None:
    """Queue a drain job unless one is already waiting (:func:`gateway.jobs.enqueue_once`)."""
    jobs.enqueue_once(rt, jobs.QUEUE_REPLIES, jobs.DRAIN_INBOUND, flag=KICK_FLAG,
                      job_timeout=DRAIN_JOB_TIMEOUT, force=force)


def drain(rt, batch: int = 50, slice_seconds: float = DRAIN_SLICE_SECONDS) -> int:
    """Answer every stored inbound SMS, oldest first; returns how many this call answered.

    Safe with several workers draining at once: :func:`process` claims each row atomically.
    After ``slice_seconds`` it queues its continuation and returns (a job must end well
    inside its RQ timeout, or it is killed mid-answer).
    """
    deadline = time.monotonic() + slice_seconds
    jobs.started(rt, KICK_FLAG)
    handled, after = 0, 0
    while True:
        if time.monotonic() > deadline:
            kick(rt, force=True)
            return handled
        with rt.sessions() as session:
            ids = list(session.scalars(
                select(Message.id).where(Message.direction == "in", Message.status == "received",
                                         Message.id > after).order_by(Message.id).limit(batch)))
        if not ids:
            return handled
        for message_id in ids:
            if process(rt, message_id) != "already-handled":
                handled += 1
        after = ids[-1]


def requeue_stale(rt, older_than: float = 60.0) -> int:
    """Queue a drain when rows wait longer than ``older_than`` seconds; rows a killed worker
    left 'processing' for longer than the lease go back to 'received' (the reply's outbox key
    is derived from the row, so answering twice never sends twice)."""
    now = rt.clock.now()
    with rt.sessions.begin() as session:
        session.execute(update(Message).where(
            Message.direction == "in", Message.status == "processing",
            Message.updated_at < now - PROCESSING_LEASE).values(status="received", updated_at=now))
        waiting = session.scalar(select(Message.id).where(
            Message.direction == "in", Message.status == "received",
            Message.created_at < now - timedelta(seconds=older_than)).limit(1))
    if waiting is not None:
        kick(rt, force=True)
        return 1
    return 0


def process(rt, message_id: int) -> str:
    """Answer one stored inbound SMS (runs in a worker). Idempotent: a second run of the same
    message does nothing, and the reply's outbox key is derived from the inbound row."""
    with rt.sessions.begin() as s:
        claimed = s.execute(update(Message).where(Message.id == message_id, Message.status == "received")
                            .values(status="processing", updated_at=utcnow())).rowcount
        row = s.get(Message, message_id)
    if not claimed or row is None:
        return "already-handled"
    command = parse(row.text)
    stored = consent.language_of(rt, row.phone)
    lang = command.language if command.language and command.language != "en" else stored
    reply = answer(rt, row.phone, command, lang)
    if reply:
        queue_sms(rt, row.phone, reply, key=f"reply:{row.id}", **reply_route(rt.settings, row))
    with rt.sessions.begin() as s:
        s.execute(update(Message).where(Message.id == message_id).values(status="processed"))
    return command.action
