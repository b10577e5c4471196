"""Inbound SMS: stored first, answered by a worker.

Contract: :func:`store` writes the SMS as a ``Message`` row keyed by AT's ``id`` and only then
lets the webhook answer 200; a repeat of the same ``id`` (AT retries for 12 h) returns False and
changes nothing. Processing runs in a worker on the ``replies`` queue; :func:`requeue_stale`
picks up rows whose job never ran (Redis was down when the SMS arrived).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway import jobs
from gateway.channels.africastalking import InboundSms
from gateway.models import Message

log = logging.getLogger(__name__)


def inbound_key(at_id: str) -> str:
    return f"at-in:{at_id}"


def store(rt, sms: InboundSms) -> bool:
    """Persist ``sms``; enqueue its processing. False if AT already gave us this id."""
    try:
        with rt.sessions.begin() as session:
            row = Message(direction="in", idempotency_key=inbound_key(sms.at_id), phone=sms.phone,
                          text=sms.text, status="received", at_message_id=sms.at_id,
                          link_id=sms.link_id)
            session.add(row)
    except IntegrityError:
        return False
    try:
        rt.queue(jobs.QUEUE_REPLIES).enqueue(jobs.HANDLE_INBOUND, row.id, job_id=f"inbound-{row.id}")
    except Exception:
        # Stored is what matters for AT's 200; the sweeper enqueues it once Redis is back.
        log.warning("inbound sms %s stored but not queued; the sweeper will pick it up", row.id)
    return True


def requeue_stale(rt, older_than: float = 60.0) -> int:
    """Enqueue again inbound rows still 'received' after ``older_than`` seconds."""
    cutoff = rt.clock.now() - timedelta(seconds=older_than)
    with rt.sessions() as session:
        ids = list(session.scalars(
            select(Message.id).where(Message.direction == "in", Message.status == "received",
                                     Message.created_at < cutoff)
        ))
    for message_id in ids:
        rt.queue(jobs.QUEUE_REPLIES).enqueue(jobs.HANDLE_INBOUND, message_id, job_id=f"inbound-{message_id}")
    return len(ids)
