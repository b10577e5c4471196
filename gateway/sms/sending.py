"""Sending the outbox: workers claim queued rows and hand them to Africa's Talking.

Contract:
- :func:`send_pending` (run by workers) claims queued rows atomically — safe with several
  worker processes — groups recipients that share a text into one AT request, and records
  AT's per-recipient ``statusCode``, ``messageId`` and cost. Delivery reports then update the
  row (``gateway.sms.delivery``); the sweeper (``gateway.sms.sweeper``) recovers what a dead worker left.

Statuses are listed in :mod:`gateway.sms.outbox`.

Retries: a retryable failure (network error before the request left, HTTP 5xx/429, statusCode
500–502) puts the row back to ``queued`` and schedules another attempt with exponential
back-off, until ``SMS_RETRY_DEADLINE_SECONDS`` after the row was written; then ``failed``
with reason ``RetryDeadline``. Permanent failures (invalid number, 406 blacklisted, …) are
``failed`` at once with AT's reason; 406 also opts the number out. 405 (out of credit) is no
failure of the message: bulk pauses and its rows stay ``queued``, a reply waits to retry
(:mod:`gateway.sms.credit`).

Unknown outcomes (the rule): AT has no idempotency key, so a request that may have left
(read timeout, dropped connection, or a worker killed while its batch was ``sending`` — found
by the sweeper once ``SMS_SEND_LEASE_SECONDS`` passed) is never resent at once. The row becomes
``unknown`` and waits for evidence: AT sends a delivery report for every message it accepted,
so a report for that number carrying an AT id we never recorded settles the row (sent,
delivered or failed, as the report says). Only when ``SMS_RECONCILE_SECONDS`` pass with no
report is the message taken as never accepted and queued once more (reason
``ResentNoReport``; ``resends`` counts it, in a column of its own because every attempt
rewrites ``failure_reason``); a second unknown outcome for the same row is ``failed`` with
reason ``OutcomeUnknown`` for an operator to decide.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import and_, bindparam, or_, select, update

from gateway import jobs
from gateway.channels.africastalking import STATUS_NAMES, SendError, UnknownOutcome
from gateway.sms import bulk as bulk_rules
from gateway.sms import consent, credit, delivery
from gateway.sms.drain_lease import DrainLease
from gateway.sms.outbox import SEND_JOB_TIMEOUT, kick, kick_flag
from gateway.sms.ratelimit import RateLimiter
from gateway.sms.send_claim import HELD, SendClaim
from gateway.store.models import Citizen, Message, as_utc, utcnow

log = logging.getLogger(__name__)
SEND_SLICE_SECONDS = 60.0  # a send job hands over to a fresh one after this long
SEND_CONCURRENCY = 4  # AT requests in flight at once per worker, for batches of different texts
PERMANENT_REASONS = {401, 402, 403, 404, 406, 407, 409}
_T = Message.__table__
# A send's outcome is written only to a row still in flight ('sending', or 'unknown' when the
# sweeper took the lease of a holder held up) and still this send's: its attempts is the claim's
# fencing token (:mod:`gateway.sms.send_claim`). A row a delivery report has settled meanwhile,
# or one another worker claimed since, keeps what it learnt; an unconditional write here resent
# delivered SMS, and a stale holder's write overwrote the new holder's claim.
IN_FLIGHT = HELD
_MINE = and_(_T.c.id == bindparam("row_id"), _T.c.attempts == bindparam("attempt"),
             or_(*(_T.c.status == s for s in IN_FLIGHT)))  # not IN: executemany takes no expanding IN
_RECORD_ACCEPTED = update(_T).where(_MINE).values(
    status=bindparam("status"), at_message_id=bindparam("at_message_id"), failure_reason=None,
    status_code=bindparam("status_code"), cost=bindparam("cost"), updated_at=bindparam("updated_at"))
_RECORD_FAILED = update(_T).where(_MINE).values(
    status="failed", failure_reason=bindparam("failure_reason"), status_code=bindparam("status_code"),
    cost=bindparam("cost"), updated_at=bindparam("updated_at"))


def _peek(rt, queue: str, limit: int, after: int = 0, notices_only: bool = False) -> list[tuple[int, int]]:
    """(id, segments) of the next queued rows of ``queue`` with an id above ``after``, oldest
    first; ``notices_only``: service notices alone (:func:`gateway.sms.bulk.is_notice`).

    :func:`_drain` passes the last id of its previous batch: in id order alone, PostgreSQL's
    planner expects queued rows spread evenly over the table and walks the primary key from
    the start, past every row a broadcast has sent so far, so each batch cost more than the
    one before."""
    query = select(Message.id, Message.segments).where(Message.id > after, Message.direction == "out",
                                                      Message.queue == queue, Message.status == "queued")
    if notices_only:
        query = query.where(bulk_rules.is_notice())
    with rt.sessions() as s:
        return [(i, seg or 1) for i, seg in s.execute(query.order_by(Message.id).limit(limit))]


def _claim(rt, ids: list[int], bulk: bool) -> list[Message]:
    """Move these rows from 'queued' to 'sending'; only rows this call moved are returned.
    Bulk rows to a number that has opted out are skipped here, whatever the row's history
    (a retry, a resend after an unknown outcome): this is the last look before AT."""
    now = utcnow()
    with rt.sessions.begin() as s:
        if bulk:
            # From the batch's rows to their citizens (a probe of the phone index each): as a
            # subquery over citizens, SQLite read the whole table for every batch.
            out = list(s.scalars(select(Message.id).join(Citizen, Citizen.phone == Message.phone)
                                 .where(Message.id.in_(ids), Citizen.opted_out.is_(True))))
            if out:
                s.execute(update(Message).where(Message.id.in_(out), Message.status == "queued")
                          .values(status="skipped", failure_reason="OptedOut", updated_at=now)
                          .execution_options(synchronize_session=False))
        # One conditional UPDATE: a row a concurrent worker claimed first no longer matches
        # status='queued' (PostgreSQL re-checks it after the row lock; SQLite has one writer).
        # RETURNING the rows themselves saves reading them again.
        claimed = list(s.scalars(
            update(Message).where(Message.id.in_(ids), Message.status == "queued")
            .values(status="sending", attempts=Message.attempts + 1, attempted_at=now, updated_at=now)
            .returning(Message).execution_options(synchronize_session=False)))
    return sorted(claimed, key=lambda m: m.id)


def send_pending(rt, queue: str, release: bool = False, slice_seconds: float | None = None) -> int:
    """Send queued rows of ``queue`` until none are left; return how many were handled.

    ``release``: first put back 'retry' rows whose back-off is over (the scheduled retry job
    and the sweeper ask for it; a plain kick does not, which keeps a reply's send cheap).
    A job works for at most ``slice_seconds`` (default :data:`SEND_SLICE_SECONDS`), then
    queues its continuation and returns: a broadcast to thousands at the rate limit takes far
    longer than a job may run, and a job killed by its timeout mid-request would leave sends
    whose outcome is unknown.

    Bulk only (:mod:`gateway.sms.bulk`): one job drains at a time (a short Redis lease
    renewed by a heartbeat, :mod:`gateway.sms.drain_lease`); another bulk job — the sweeper queues one whenever rows wait —
    returns at once instead of booking the same batch against the rate a second time and
    holding a worker a reply needs. Outside the quiet-hours window broadcasts stop before the
    next batch and a continuation is scheduled for when the window opens (service notices,
    :func:`gateway.sms.bulk.is_notice`, still go); claimed rows to
    numbers that opted out meanwhile are skipped; broadcasts with nothing left are ``sent``.
    """
    jobs.started(rt, kick_flag(queue))
    if release:
        release_due_retries(rt)
    if queue != jobs.QUEUE_BULK:
        return _drain(rt, queue, slice_seconds, None)[0]
    lease = DrainLease(rt)
    if not lease.acquire():
        return 0  # the drainer sees the rows; if it is finishing, it looks again after letting go
    try:
        handled, drained = _drain(rt, queue, slice_seconds, lease)
    finally:
        lease.release()
    if drained and _peek(rt, queue, 1):
        kick(rt, queue)  # written while we finished, its job turned away by our lease
    return handled


def _drain(rt, queue: str, slice_seconds: float | None, lease: DrainLease | None) -> tuple[int, bool]:
    """:func:`send_pending`'s loop: (rows handled, whether it stopped because none were left)."""
    deadline = time.monotonic() + (SEND_SLICE_SECONDS if slice_seconds is None else slice_seconds)
    sender = rt.sms_sender
    limiter = RateLimiter(rt.redis, "sms", rt.settings.SMS_RATE_PER_SECOND,
                          reply_share=rt.settings.SMS_REPLY_SHARE)
    batch = int(rt.settings.SMS_BATCH_SIZE)
    handled = 0
    bulk = queue == jobs.QUEUE_BULK
    # Quiet hours hold broadcasts (a job is scheduled for the window's opening), not service
    # notices: while quiet, this job sends the notices alone.
    quiet = bulk and bulk_rules.hold_if_quiet(rt) is not None
    if bulk and not quiet:
        bulk_rules.resume_paused(rt)
    after = 0  # where the next peek starts: the last id of the previous batch (0: the start)
    while True:
        if time.monotonic() > deadline:
            kick(rt, queue, force=True)  # the rest goes on in a fresh job
            return handled, False
        if lease is not None and lease.lost.is_set():
            return handled, False  # another job drains now (we were held up past the lease)
        looked_from = after
        peeked = _peek(rt, queue, batch, after, notices_only=quiet)
        if not peeked and looked_from:
            after = 0  # the end: look once from the start for rows put back behind us (retries, credit)
            continue
        if not peeked:
            if bulk and not quiet:
                bulk_rules.finish_done(rt)
            return handled, not quiet
        if bulk and credit.hold_bulk(rt) is not None:
            return handled, False  # out of credit: a job is scheduled for the next probe
        # Wait for the rate limit BEFORE claiming, so claimed rows leave at once: the gap
        # between 'sending' and the request is as short as it can be. (Replies: after, see
        # :func:`_wait_for_claimed`.)
        if bulk:
            limiter.acquire(sum(seg for _i, seg in peeked))
        if lease is not None and lease.lost.is_set():
            return handled, False
        if bulk and not quiet and bulk_rules.hold_if_quiet(rt) is not None:
            quiet, after = True, 0  # the window closed: a job is scheduled for its opening; notices go on
            continue
        rows = _claim(rt, [i for i, _seg in peeked], bulk=bulk)
        # Held (renewed) from the claim until the outcomes are written: however long the batch
        # takes, no other worker resends a row this one may send or has sent.
        claim = SendClaim(rt, {r.id: r.attempts for r in rows}).start()
        try:
            if not bulk:
                _wait_for_claimed(limiter, rows)
            calls = requests_for(rows)
            # Different texts are separate AT requests: make a few at once (replies to a burst of
            # inbound SMS are all different), then record each outcome here, one after another.
            if len(calls) > 1:
                with ThreadPoolExecutor(min(SEND_CONCURRENCY, len(calls))) as pool:
                    outcomes = list(pool.map(_call, [sender] * len(calls), calls, [bulk] * len(calls),
                                             [claim] * len(calls)))
            else:
                outcomes = [_call(sender, group, bulk, claim) for group in calls]
        finally:
            claim.stop()  # before the outcomes: a renewal after one would undo it
        _record(rt, sender, [outcome for outcome in outcomes if outcome[0]], bulk)
        handled += len(rows)
        if len(peeked) < batch and not looked_from:
            if bulk and not quiet:
                bulk_rules.finish_done(rt)
            return handled, not quiet  # drained; a row written since our flag was cleared has queued its own job
        after = 0 if len(peeked) < batch else peeked[-1][0]
        if bulk and _replies_waiting(rt):
            # A citizen's reply must not wait for a broadcast: hand the rest of the broadcast to
            # a fresh job behind it; this worker then takes the reply first (it serves `replies`
            # before `bulk`).
            kick(rt, queue, force=True)
            return handled, False


def _wait_for_claimed(limiter: RateLimiter, rows: list[Message]) -> None:
    """Replies wait for the rate after their claim, for the rows claimed only.

    Several reply send jobs run at once (a kick while one runs, the sweeper's kick). Waiting
    before the claim, each booked the rate for the same peeked rows and all but one then
    claimed none of them: under a burst of inbound SMS much of the account's rate was booked
    for nothing. A claimed reply waits at most a batch at its share of the rate
    (:mod:`gateway.sms.ratelimit`), well inside ``SMS_SEND_LEASE_SECONDS``."""
    if rows:
        limiter.acquire(sum(r.segments or 1 for r in rows), reply=True)


def _replies_waiting(rt) -> bool:
    try:
        return rt.queue(jobs.QUEUE_REPLIES).count > 0
    except Exception:
        return False


def requests_for(rows: list[Message]) -> list[list[Message]]:
    """Claimed rows grouped into AT requests: rows that share text, sender and linkId go
    together, each number at most once per request. AT answers once per number, so a second
    identical message to the same number (HELP texted twice) goes in a request of its own and
    every row gets its own outcome."""
    groups: dict[tuple, list[Message]] = defaultdict(list)
    seen: Counter = Counter()
    for row in rows:
        key = (row.text, row.sender, row.link_id)
        groups[(*key, seen[(key, row.phone)])].append(row)
        seen[(key, row.phone)] += 1
    return list(groups.values())


def _call(sender, group: list[Message], bulk: bool, claim: SendClaim):
    """One AT request for the rows of ``group`` (see :func:`requests_for`) this worker still
    holds (:meth:`SendClaim.confirm`, asked just before the request leaves): (rows, results,
    None) or (rows, None, error); no rows, no request."""
    held = claim.confirm([r.id for r in group])
    group = [r for r in group if r.id in held]
    if not group:
        return [], None, None
    first = group[0]
    try:
        return group, sender.send(first.text, [r.phone for r in group], bulk=bulk, sender=first.sender,
                                  link_id=first.link_id), None
    except SendError as exc:
        return group, None, exc


def _record(rt, sender, outcomes: list[tuple[list[Message], list | None, SendError | None]],
            bulk: bool = False) -> None:
    """Write what AT said about each row: every AT request of a batch in one transaction, one
    executemany per outcome (a batch of 100 replies is 2 statements and one commit, not 100 —
    SQLite has one writer, and every commit is a turn at it). Errors that concern a whole
    request (retryable, unknown outcome, refused) are written for its rows. A 405 (out of
    credit) pauses bulk; the row waits (:mod:`gateway.sms.credit`)."""
    retry: dict[str, list[Message]] = defaultdict(list)  # reason → rows
    no_credit: list[Message] = []
    refused = ""  # the last recipient AT refused (not an opt-out), for the operator
    blacklisted: list[str] = []
    accepted: list[dict] = []
    failed: list[dict] = []
    message_ids: list[str] = []
    told: list[tuple[str, str]] = []  # (number, outcome) of each reply, for the log
    now = utcnow()
    for group, results, exc in outcomes:
        if exc is not None:
            credit.note_error(rt, type(exc).__name__, str(exc))
            told.extend((r.phone, f"not sent ({type(exc).__name__}, {'retried' if exc.retryable else 'not retried'})")
                        for r in group)
            if exc.retryable:
                retry[type(exc).__name__].extend(group)
            elif isinstance(exc, UnknownOutcome):
                _set(rt, group, status="unknown", failure_reason=str(exc)[:64])
            else:
                _set(rt, group, status="failed", failure_reason=str(exc)[:64])
            continue
        by_phone = {r.phone: r for r in group}
        for result in results:
            row = by_phone.get(result.phone)
            if row is None:
                continue
            values = {"row_id": row.id, "attempt": row.attempts, "status_code": result.status_code, "cost": result.cost, "updated_at": now}
            told.append((row.phone, "simulated (no AT credentials)" if sender.simulated and result.accepted
                         else "sent" if result.accepted else f"not sent (statusCode {result.status_code})"))
            if result.accepted:
                accepted.append({**values, "status": "simulated" if sender.simulated else "sent",
                                 "at_message_id": result.message_id})
                message_ids.append(result.message_id)
            elif result.out_of_credit:
                no_credit.append(row)
            elif result.retryable:
                retry["AT statusCode 5xx"].append(row)
            else:
                failed.append({**values, "failure_reason": STATUS_NAMES.get(result.status_code, result.status)[:64]})
                if result.blacklisted:
                    blacklisted.append(row.phone)
                else:
                    refused = f"statusCode {result.status_code}: {failed[-1]['failure_reason']}"
    early = delivery.pending_reports_flagged(rt)
    if accepted or failed:
        with rt.sessions.begin() as s:
            if accepted:
                s.connection().execute(_RECORD_ACCEPTED, accepted)
            if failed:
                s.connection().execute(_RECORD_FAILED, failed)
            if early:
                delivery.apply_pending_reports(s, [m for m in message_ids if m])
    if refused:
        credit.note_error(rt, "Refused", refused)
    if no_credit:
        credit.note_error(rt, credit.REASON, f"AT refused {len(no_credit)} recipients: out of credit (405)")
        credit.out_of_credit(rt, len(no_credit))
        if bulk:
            _set(rt, no_credit, status="queued", failure_reason=credit.REASON)
        else:
            retry[credit.REASON].extend(no_credit)
    elif accepted:
        credit.credit_back(rt)
    for reason, rows in retry.items():
        _retry_later(rt, rows, reason)
    for phone in blacklisted:
        consent.record_opt_out(rt, phone)  # AT's 406: AT has told the citizen already
    if bulk:
        bulk_rules.log_progress(rt, {r.broadcast_id for group, _r, _e in outcomes for r in group})
    else:
        for phone, outcome in told:  # one line per reply: a person follows each conversation
            log.info("sms out to %s: %s", phone, outcome)


def _set(rt, rows: list[Message], **values) -> None:
    """Write a send's outcome to those of ``rows`` still in flight and still this send's (see
    :data:`_MINE`)."""
    if not rows:
        return
    with rt.sessions.begin() as s:
        s.connection().execute(update(_T).where(_MINE).values(updated_at=utcnow(), **values),
                               [{"row_id": r.id, "attempt": r.attempts} for r in rows])


def _retry_later(rt, rows: list[Message], reason: str) -> None:
    deadline = timedelta(seconds=rt.settings.SMS_RETRY_DEADLINE_SECONDS)
    now = utcnow()
    expired = [r for r in rows if now - as_utc(r.created_at) > deadline]
    again = [r for r in rows if r not in expired]
    if expired:
        _set(rt, expired, status="failed", failure_reason="RetryDeadline")
    if again:
        # 'retry' rows are not picked up by a running sender until their back-off is over.
        _set(rt, again, status="retry", failure_reason=reason[:64])
        queue = again[0].queue or jobs.QUEUE_REPLIES
        try:
            rt.queue(queue).enqueue_in(timedelta(seconds=backoff(max(r.attempts for r in again))),
                                       jobs.SEND_PENDING, queue, True, job_timeout=SEND_JOB_TIMEOUT)
        except Exception:
            log.warning("could not schedule a retry; the sweeper will pick the rows up")


def backoff(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: 1, 2, 4, … capped at 5 minutes."""
    return min(0.5 * 2 ** attempts, 300.0)


def release_due_retries(rt) -> int:
    """Put 'retry' rows whose back-off is over back in the queue."""
    now = utcnow()
    with rt.sessions.begin() as s:
        rows = s.execute(select(Message.id, Message.updated_at, Message.attempts).where(
            Message.direction == "out", Message.status == "retry")).all()
        due = [r.id for r in rows if as_utc(r.updated_at) + timedelta(seconds=backoff(r.attempts)) <= now]
        if not due:
            return 0
        # Conditional: a row an opt-out or another sweep changed meanwhile is left alone.
        return s.execute(update(Message).where(Message.id.in_(due), Message.status == "retry")
                         .values(status="queued")).rowcount



