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
from collections import Counter, defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor
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
BULK_IN_FLIGHT = 4  # bulk AT requests claimed together and sent at once (:class:`_Pipeline`)
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
    with rt.sessions.begin() as s:
        return _claim_in(s, ids, bulk)


def _claim_in(s, ids: list[int], bulk: bool) -> list[Message]:
    """:func:`_claim` in the transaction of session ``s``: the rows are claimed once it commits."""
    now = utcnow()
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
    """:func:`send_pending`'s loop: (rows handled, whether it stopped because none were left).
    Bulk goes through a :class:`_Pipeline` (batches overlapped); whatever it returns, every
    request in flight has landed and its outcome is written first."""
    if queue != jobs.QUEUE_BULK:
        return _drain_loop(rt, queue, slice_seconds, lease, None)
    pipeline = _Pipeline(rt, rt.sms_sender, int(rt.settings.SMS_BATCH_SIZE), rt.settings.SMS_RATE_PER_SECOND)
    try:
        return _drain_loop(rt, queue, slice_seconds, lease, pipeline)
    finally:
        pipeline.close()


def _drain_loop(rt, queue: str, slice_seconds: float | None, lease: DrainLease | None,
                pipeline: _Pipeline | None) -> tuple[int, bool]:
    deadline = time.monotonic() + (SEND_SLICE_SECONDS if slice_seconds is None else slice_seconds)
    sender = rt.sms_sender
    limiter = RateLimiter(rt.redis, "sms", rt.settings.SMS_RATE_PER_SECOND,
                          reply_share=rt.settings.SMS_REPLY_SHARE)
    batch = int(rt.settings.SMS_BATCH_SIZE)
    handled = 0
    bulk = queue == jobs.QUEUE_BULK
    landed = pipeline.land if pipeline is not None else lambda: None
    # Quiet hours hold broadcasts (a job is scheduled for the window's opening), not service
    # notices: while quiet, this job sends the notices alone.
    quiet = bulk and bulk_rules.hold_if_quiet(rt) is not None
    if bulk and not quiet:
        bulk_rules.resume_paused(rt)
    after = 0  # where the next peek starts: the last id of the previous batch (0: the start)
    while True:
        if time.monotonic() > deadline:
            landed()
            kick(rt, queue, force=True)  # the rest goes on in a fresh job
            return handled, False
        if lease is not None and lease.lost.is_set():
            return handled, False  # another job drains now (we were held up past the lease)
        looked_from = after
        if pipeline is not None and not pipeline.open:
            pipeline.land()  # a first batch (or a credit probe) goes alone: its verdict decides what follows
        size = pipeline.claim_size if pipeline is not None else batch
        peeked = _peek(rt, queue, size, after, notices_only=quiet)
        if not peeked and looked_from:
            landed()  # rows a batch in flight puts back (retries, credit) are queued before the look
            after = 0  # the end: look once from the start for rows put back behind us (retries, credit)
            continue
        if not peeked:
            landed()
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
        if pipeline is not None:
            rows = pipeline.claim_and_send([i for i, _seg in peeked])
            if rows is None:
                continue  # a batch in flight met a 405: the credit pause holds the rest
            handled += len(rows)
        else:
            handled += _send_batch(rt, sender, limiter, [i for i, _seg in peeked])
        if len(peeked) < size and not looked_from:
            landed()
            if bulk and not quiet:
                bulk_rules.finish_done(rt)
            return handled, not quiet  # drained; a row written since our flag was cleared has queued its own job
        after = 0 if len(peeked) < size else peeked[-1][0]
        if bulk and _replies_waiting(rt):
            # A citizen's reply must not wait for a broadcast: hand the rest of the broadcast to
            # a fresh job behind it; this worker then takes the reply first (it serves `replies`
            # before `bulk`).
            landed()
            kick(rt, queue, force=True)
            return handled, False


def _send_batch(rt, sender, limiter: RateLimiter, ids: list[int]) -> int:
    """Replies: claim, wait for the rate, send (different texts a few at once), record."""
    rows = _claim(rt, ids, bulk=False)
    # Held (renewed) from the claim until the outcomes are written: however long the batch
    # takes, no other worker resends a row this one may send or has sent.
    claim = SendClaim(rt, {r.id: r.attempts for r in rows}).start()
    try:
        _wait_for_claimed(limiter, rows)
        calls = requests_for(rows)
        # Different texts are separate AT requests: make a few at once (replies to a burst of
        # inbound SMS are all different), then record each outcome here, one after another.
        if len(calls) > 1:
            with ThreadPoolExecutor(min(SEND_CONCURRENCY, len(calls))) as pool:
                outcomes = list(pool.map(_call, [sender] * len(calls), calls, [False] * len(calls),
                                         [claim] * len(calls)))
        else:
            outcomes = [_call(sender, group, False, claim) for group in calls]
    finally:
        claim.stop()  # before the outcomes: a renewal after one would undo it
    _record(rt, sender, [outcome for outcome in outcomes if outcome[0]], False)
    return len(rows)


class _Pipeline:
    """Bulk sending overlapped. A claim takes up to :data:`BULK_IN_FLIGHT` AT requests' worth of
    rows (``SMS_BATCH_SIZE`` each; fewer when the rate is under that many batches a second),
    and its requests leave at once (threads of a pool). While they are in flight the drainer
    records the claims that landed and makes the next claim in one transaction, and sends that
    claim's requests once it commits: one commit per claim, two claims in flight at most.

    Exactly-once rests on the order, kept here: a claim commits BEFORE its requests leave (a
    worker killed after the commit left rows 'sending', which the sweeper settles as unknown
    outcomes, never resends at once), and a claim's outcomes are written only after all its
    requests landed and its :class:`SendClaim` stopped renewing. The rate limit, the credit
    pause, the drain lease and quiet hours are checked by the drainer before each claim, as for
    one batch at a time; a 405 or a lost lease stops the claims, and what is in flight lands
    and is recorded. One batch goes alone until AT has accepted one (at the start, and again
    after a 405): an account out of credit, or a credit probe, meets one request."""

    def __init__(self, rt, sender, batch: int, rate: float):
        self.rt, self.sender, self.batch = rt, sender, max(1, batch)
        self.per_claim = max(1, min(BULK_IN_FLIGHT, int(float(rate) // self.batch)))
        self._pool = ThreadPoolExecutor(2 * self.per_claim, thread_name_prefix="bulk-send")
        self._flying: deque[tuple[SendClaim, list[Future]]] = deque()
        self.open = False  # whether AT accepted the last claim that landed: then full claims, two in flight

    @property
    def claim_size(self) -> int:
        """Rows to claim next: one batch until AT accepted one, then :attr:`per_claim` batches."""
        return self.batch * (self.per_claim if self.open else 1)

    def claim_and_send(self, ids: list[int]) -> list[Message] | None:
        """Record the batches that landed and claim ``ids`` in one transaction; once it commits,
        send what was claimed. Waits for the oldest batch while the pipeline is full. None (no
        claim) when a batch that landed met a 405: the drainer looks at the credit again first."""
        verdicts = self._judge(self._landed(room=2 if self.open else 1))
        if verdicts.no_credit:
            _write_and_after(self.rt, verdicts, bulk=True)
            return None
        early = verdicts.writes and delivery.pending_reports_flagged(self.rt)
        with self.rt.sessions.begin() as s:
            verdicts.write(s, early)
            rows = _claim_in(s, ids, bulk=True)
        # Committed: the rows are durably ours before their request leaves.
        if rows:
            claim = SendClaim(self.rt, {r.id: r.attempts for r in rows}).start()
            self._flying.append((claim, [self._pool.submit(_call, self.sender, group, True, claim)
                                         for group in self._requests(rows)]))
        verdicts.after(self.rt, bulk=True)
        return rows

    def _requests(self, rows: list[Message]) -> list[list[Message]]:
        """:func:`requests_for`, each request at most ``SMS_BATCH_SIZE`` numbers."""
        return [group[i:i + self.batch] for group in requests_for(rows) for i in range(0, len(group), self.batch)]

    def _landed(self, room: int = 0, every: bool = False) -> list:
        """The outcomes of the oldest batches whose requests are done, in claim order (waiting
        for the oldest while ``room`` or more are in flight; ``every``: for all)."""
        outcomes: list = []
        while self._flying and (every or all(f.done() for f in self._flying[0][1])
                                or (room and len(self._flying) >= room)):
            claim, futures = self._flying.popleft()
            try:
                outcomes.extend(outcome for outcome in (f.result() for f in futures) if outcome[0])
            finally:
                claim.stop()  # before the outcomes are written: a renewal after one would undo it
        return outcomes

    def _judge(self, outcomes: list) -> _Verdicts:
        verdicts = _Verdicts(self.sender, outcomes)
        if verdicts.no_credit:
            self.open = False
        elif verdicts.accepted:
            self.open = True
        return verdicts

    def land(self) -> None:
        """Wait for every request in flight and record its outcome."""
        if self._flying:
            _write_and_after(self.rt, self._judge(self._landed(every=True)), bulk=True)

    def close(self) -> None:
        """:meth:`land`, then stop the threads. After an error too: requests in flight still
        land, and their outcomes are written if the database takes them (if not, the rows stay
        'sending' and the sweeper settles them as unknown outcomes)."""
        try:
            self.land()
        except Exception:
            for claim, _future in self._flying:
                claim.stop()
            self._flying.clear()
            log.exception("outcomes of bulk requests in flight not recorded: the sweeper settles them")
        finally:
            self._pool.shutdown(wait=True)


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
    _write_and_after(rt, _Verdicts(sender, outcomes), bulk)


def _write_and_after(rt, verdicts: _Verdicts, bulk: bool) -> None:
    if verdicts.writes:
        early = delivery.pending_reports_flagged(rt)
        with rt.sessions.begin() as s:
            verdicts.write(s, early)
    verdicts.after(rt, bulk)


class _Verdicts:
    """What AT said about the rows of some requests, sorted into the writes of one transaction
    (:meth:`write`, in the caller's: the bulk pipeline claims its next batch in it) and what
    follows the commit (:meth:`after`: retries, credit, opt-outs, the log)."""

    def __init__(self, sender, outcomes: list[tuple[list[Message], list | None, SendError | None]]):
        self.outcomes = outcomes
        self.retry: dict[str, list[Message]] = defaultdict(list)  # reason → rows
        self.no_credit: list[Message] = []
        self.refused = ""  # the last recipient AT refused (not an opt-out), for the operator
        self.blacklisted: list[str] = []
        self.accepted: list[dict] = []
        self.failed: list[dict] = []
        self.whole: list[tuple[str, str, list[Message]]] = []  # (status, reason, rows) of a request's error
        self.errors: list[SendError] = []
        self.message_ids: list[str] = []
        self.told: list[tuple[str, str]] = []  # (number, outcome) of each reply, for the log
        now = utcnow()
        for group, results, exc in outcomes:
            if exc is not None:
                self.errors.append(exc)
                self.told.extend((r.phone, f"not sent ({type(exc).__name__}, "
                                           f"{'retried' if exc.retryable else 'not retried'})") for r in group)
                if exc.retryable:
                    self.retry[type(exc).__name__].extend(group)
                else:
                    self.whole.append(("unknown" if isinstance(exc, UnknownOutcome) else "failed", str(exc)[:64], group))
                continue
            by_phone = {r.phone: r for r in group}
            for result in results:
                row = by_phone.get(result.phone)
                if row is None:
                    continue
                values = {"row_id": row.id, "attempt": row.attempts, "status_code": result.status_code,
                          "cost": result.cost, "updated_at": now}
                self.told.append((row.phone, "simulated (no AT credentials)" if sender.simulated and result.accepted
                                  else "sent" if result.accepted else f"not sent (statusCode {result.status_code})"))
                if result.accepted:
                    self.accepted.append({**values, "status": "simulated" if sender.simulated else "sent",
                                          "at_message_id": result.message_id})
                    self.message_ids.append(result.message_id)
                elif result.out_of_credit:
                    self.no_credit.append(row)
                elif result.retryable:
                    self.retry["AT statusCode 5xx"].append(row)
                else:
                    self.failed.append({**values, "failure_reason": STATUS_NAMES.get(result.status_code,
                                                                                     result.status)[:64]})
                    if result.blacklisted:
                        self.blacklisted.append(row.phone)
                    else:
                        self.refused = f"statusCode {result.status_code}: {self.failed[-1]['failure_reason']}"

    @property
    def writes(self) -> bool:
        return bool(self.accepted or self.failed or self.whole)

    def write(self, s, early: bool) -> None:
        """The outcomes, in session ``s``'s transaction; ``early``: match delivery reports that
        came before their message's AT id (:func:`gateway.sms.delivery.pending_reports_flagged`)."""
        if self.accepted:
            s.connection().execute(_RECORD_ACCEPTED, self.accepted)
        if self.failed:
            s.connection().execute(_RECORD_FAILED, self.failed)
        for status, reason, rows in self.whole:
            _set_in(s, rows, status=status, failure_reason=reason)
        if early:
            delivery.apply_pending_reports(s, [m for m in self.message_ids if m])

    def after(self, rt, bulk: bool) -> None:
        for exc in self.errors:
            credit.note_error(rt, type(exc).__name__, str(exc))
        if self.refused:
            credit.note_error(rt, "Refused", self.refused)
        if self.no_credit:
            credit.note_error(rt, credit.REASON, f"AT refused {len(self.no_credit)} recipients: out of credit (405)")
            credit.out_of_credit(rt, len(self.no_credit))
            if bulk:
                _set(rt, self.no_credit, status="queued", failure_reason=credit.REASON)
            else:
                self.retry[credit.REASON].extend(self.no_credit)
        elif self.accepted:
            credit.credit_back(rt)
        for reason, rows in self.retry.items():
            _retry_later(rt, rows, reason)
        for phone in self.blacklisted:
            consent.record_opt_out(rt, phone)  # AT's 406: AT has told the citizen already
        if bulk:
            if self.outcomes:
                bulk_rules.log_progress(rt, {r.broadcast_id for group, _r, _e in self.outcomes for r in group})
        else:
            for phone, outcome in self.told:  # one line per reply: a person follows each conversation
                log.info("sms out to %s: %s", phone, outcome)


def _set(rt, rows: list[Message], **values) -> None:
    """Write a send's outcome to those of ``rows`` still in flight and still this send's (see
    :data:`_MINE`)."""
    if not rows:
        return
    with rt.sessions.begin() as s:
        _set_in(s, rows, **values)


def _set_in(s, rows: list[Message], **values) -> None:
    """:func:`_set` in the transaction of session ``s``."""
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



