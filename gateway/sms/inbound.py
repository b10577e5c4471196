"""Inbound SMS: stored first, answered by a worker.

Contract: :func:`store` writes the SMS as a ``Message`` row keyed by AT's ``id`` and only then
lets the webhook answer 200; a repeat of the same ``id`` (AT retries for 12 h) returns False and
changes nothing. Processing runs in a worker on the ``replies`` queue: :func:`drain` answers
every stored row, oldest first; a message whose answer raises is tried again, at most
``SMS_INBOUND_ATTEMPTS`` times in all, then kept as 'failed' with the reason, and never
holds up the others. One waiting drain job is enough, so ``store`` queues one only when none
is waiting (a Redis flag the job clears before it looks for rows): under a burst the webhook
costs one insert and one SET, not an RQ enqueue per SMS. :func:`requeue_stale` (the sweeper)
covers a job that never ran (Redis down when the SMS arrived) and a worker killed mid-answer
(after ``SMS_INBOUND_LEASE_SECONDS``).

What a row is answered with is the caller's choice (``answer``: :data:`Answer`): by default
:func:`keyword_answer`, the keyword grammar; the workers pass ``gateway.staff.status_sms``'s,
which sees staff status reports first, then ``gateway.dialogue.inbound``'s conversation threads
(layers above this one).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update

from gateway import jobs
from gateway.channels.africastalking import InboundSms
from gateway.sms import consent, replies
from gateway.sms.outbox import kick_flag, queue_sms, reply_route
from gateway.store.models import Message, utcnow
from gateway.usage.events import record_sms_searches
from menus.keywords import parse

log = logging.getLogger(__name__)
KICK_FLAG = "sms:in:kick"
LEASE_EXPIRED = "LeaseExpired: the drain stopped mid-answer"
_REASON_CHARS = Message.__table__.c.failure_reason.type.length
DRAIN_SLICE_SECONDS = 60.0
DRAIN_JOB_TIMEOUT = 300
Answer = Callable[..., str]  # (rt, row: Message) -> the action; queues its reply (reply_to)


def inbound_key(at_id: str) -> str:
    return f"at-in:{at_id}"


def store(rt, sms: InboundSms) -> bool:
    """Persist ``sms``; make sure a drain job will answer it. False if AT already gave us this id.

    Returns only after the commit holding the row: requests a process serves at once share that
    commit (:attr:`Runtime.inbound_rows`), and the first row of each group queues the drain."""
    stored = rt.inbound_rows.insert(dict(
        direction="in", idempotency_key=inbound_key(sms.at_id), phone=sms.phone, text=sms.text,
        status="received", at_message_id=sms.at_id, link_id=sms.link_id, sent_to=sms.to,
        network_code=sms.network_code, cost=sms.cost))
    if stored.row_id is None:
        log.debug("inbound sms %s: AT sent it again; already stored", sms.at_id)
        return False
    # The keyword only, not the whole text: enough to follow on a console, little to leak.
    log.info("sms in from %s: %s", sms.phone, (sms.text.split() or ["(empty)"])[0][:20])
    if stored.lead:
        try:
            kick(rt)
        except Exception:
            # Stored is what matters for AT's 200; the sweeper queues a drain once Redis is back.
            log.warning("inbound sms %s stored but not queued; the sweeper will pick it up", stored.row_id)
    return True


def kick(rt, force: bool = False) -> None:
    """Queue a drain job unless one is already waiting (:func:`gateway.jobs.enqueue_once`)."""
    jobs.enqueue_once(rt, jobs.QUEUE_REPLIES, jobs.DRAIN_INBOUND, flag=KICK_FLAG,
                      job_timeout=DRAIN_JOB_TIMEOUT, force=force)


def drain(rt, batch: int = 50, slice_seconds: float = DRAIN_SLICE_SECONDS, answer: Answer | None = None) -> int:
    """Answer every stored inbound SMS, oldest first; returns how many rows this call handled
    (answered, put back after a failure, or failed).

    Safe with several workers draining at once: :func:`process` claims each row atomically.
    A message whose answer raises is put back (see :func:`process`) and the drain goes on to
    the next one. After ``slice_seconds`` it queues its continuation and returns (a job must
    end well inside its RQ timeout, or it is killed mid-answer); so it does, after a batch,
    when a send job for the replies waits (the replies leave only while one runs).
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
            if process(rt, message_id, answer) != "already-handled":
                handled += 1
        after = ids[-1]  # a row put back after a failure waits for the next drain
        if len(ids) == batch and jobs.waiting(rt, kick_flag(jobs.QUEUE_REPLIES)):
            # The replies written so far leave only while their send job runs, and a burst of
            # inbound SMS keeps every worker draining: hand this worker to it, go on behind it.
            kick(rt, force=True)
            return handled


def requeue_stale(rt) -> int:
    """The sweeper's part: rows a killed drain left 'processing' longer than
    ``SMS_INBOUND_LEASE_SECONDS`` go back to 'received' — or, once they used up
    ``SMS_INBOUND_ATTEMPTS``, to 'failed' (a message that kills every drain answering it must
    not do so forever) — and a drain is queued when rows wait longer than the lease (a job
    lost while Redis was down). Answering twice never sends twice: the reply's outbox key is
    derived from the row. Returns 1 if a drain was queued."""
    now = rt.clock.now()
    cutoff = now - timedelta(seconds=rt.settings.SMS_INBOUND_LEASE_SECONDS)
    expired = (Message.direction == "in") & (Message.status == "processing") & (Message.updated_at < cutoff)
    with rt.sessions.begin() as session:
        gave_up = session.execute(update(Message).where(
            expired, Message.attempts >= rt.settings.SMS_INBOUND_ATTEMPTS).values(
            status="failed", failure_reason=LEASE_EXPIRED, updated_at=now)).rowcount
        requeued = session.execute(update(Message).where(expired).values(
            status="received", failure_reason=LEASE_EXPIRED, updated_at=now)).rowcount
        waiting = session.scalar(select(Message.id).where(
            Message.direction == "in", Message.status == "received", Message.updated_at < cutoff).limit(1))
    if gave_up:
        log.error("%d inbound sms failed: a drain stopped mid-answer on each of them %d times",
                  gave_up, rt.settings.SMS_INBOUND_ATTEMPTS)
    if requeued or waiting is not None:
        kick(rt, force=True)
        return 1
    return 0


def process(rt, message_id: int, answer: Answer | None = None) -> str:
    """Answer one stored inbound SMS (runs in a worker); returns the command's action, or
    'retry', 'failed' or 'already-handled'. Idempotent: a second run of the same message
    does nothing, and the reply's outbox key is derived from the inbound row.

    Each claim counts an attempt on the row. When answering raises, the reason is kept on the
    row (:func:`failure_reason`) and the row goes back to 'received' for another try; the try
    that reaches ``SMS_INBOUND_ATTEMPTS`` marks it 'failed' instead. Errors of the claim itself
    (the database is down) propagate: the row is untouched, or left to the lease.
    """
    with rt.sessions.begin() as s:
        claimed = s.execute(update(Message).where(Message.id == message_id, Message.status == "received")
                            .values(status="processing", attempts=Message.attempts + 1, updated_at=utcnow())
                            .execution_options(synchronize_session=False)).rowcount
        row = s.get(Message, message_id)
    if not claimed or row is None:
        return "already-handled"
    # Later writes touch the row only while this claim still holds it (a lease that expired
    # under a very slow answer has handed it to another drain).
    mine = (Message.id == message_id) & (Message.status == "processing") & (Message.attempts == row.attempts)
    try:
        action = (answer or keyword_answer)(rt, row)
    except Exception as exc:
        return _after_failure(rt, row, mine, exc)
    with rt.sessions.begin() as s:
        s.execute(update(Message).where(mine).values(status="processed"))
    return action


def keyword_answer(rt, row: Message, news=None) -> str:
    """Answer ``row`` by the keyword grammar (:func:`gateway.sms.replies.answer`, ``news`` as
    there), record its searches and queue the reply; returns the command's action."""
    command = parse(row.text)
    stored = consent.language_of(rt, row.phone)
    lang = command.language if command.language and command.language != "en" else stored
    searches: list[dict] = []
    reply = replies.answer(rt, row.phone, command, lang, searches, news=news)
    record_sms_searches(rt, row.id, row.phone, searches, row.created_at)
    if reply:
        reply_to(rt, row, reply)
    return command.action


def reply_to(rt, row: Message, text: str) -> None:
    """Queue ``text`` as the one reply to inbound ``row``: from the shortcode it came to, keyed by
    the row (answering it twice never sends twice)."""
    queue_sms(rt, row.phone, text, key=f"reply:{row.id}", **reply_route(rt.settings, row))


def _after_failure(rt, row: Message, mine, exc: Exception) -> str:
    reason = failure_reason(exc)
    final = row.attempts >= rt.settings.SMS_INBOUND_ATTEMPTS
    with rt.sessions.begin() as s:
        s.execute(update(Message).where(mine).values(
            status="failed" if final else "received", failure_reason=reason, updated_at=utcnow()))
    if final:
        # The row id finds the message; the number stays out of the log.
        log.error("inbound sms %s failed after %d attempts: %s", row.id, row.attempts, reason, exc_info=exc)
        return "failed"
    log.warning("inbound sms %s: attempt %d of %d raised %s; it will be tried again",
                row.id, row.attempts, rt.settings.SMS_INBOUND_ATTEMPTS, reason)
    return "retry"


def failure_reason(exc: BaseException) -> str:
    """``'TypeError: must be real number…'`` on one line, clamped to the column."""
    detail = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return text[:_REASON_CHARS]
