"""Delivery reports: AT tells us what became of each message we handed it.

Contract: :func:`apply_delivery` updates the outbox row AT reports on (idempotent; a late
interim status never undoes a final one; ``delivered`` clears a stale failure reason) and
returns what happened. A report naming another number than the row's changes nothing
(``phone-mismatch``) and opts nobody out. A report can beat our own write of AT's message id,
or belong to a send whose outcome we never learnt: it is then kept as a
``PendingDeliveryReport`` (reports for the same id: the strongest status is kept), applied when
a row with that id appears (:func:`apply_pending_reports`, by the sender while
:data:`PENDING_FLAG` is up; the sweeper's :func:`apply_all_pending_reports`), or settles an
``unknown`` send by the reconciliation rule below. Waiting reports expire after
:func:`pending_ttl`. A ``UserInBlackList`` report opts its number out at once, unless it names
another number than its matched row.

Reconciliation (the rule): a report for an AT id we never recorded settles an ``unknown`` row
only when that row is the **only** unknown row for the report's number that was waiting for it:
its last attempt (``attempted_at``) left before the report arrived, and its wait — the
``SMS_RECONCILE_SECONDS`` from when it became unknown (``updated_at``) after which the sweeper
resends it — was not over. (Measured from the attempt instead, a report coming in the last
stretch of a row's wait was refused and the row then resent: a second SMS.) With two or more
candidates nobody can tell which message AT reports on: the report waits, and the rows follow
their resend-once path (:mod:`gateway.sms.sending`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from gateway.channels.africastalking import DeliveryReport
from gateway.metrics import DELIVERY_REPORT_LAG
from gateway.sms import consent
from gateway.store.models import Message, PendingDeliveryReport, as_utc, utcnow

log = logging.getLogger(__name__)

_RANK = {"queued": 0, "retry": 0, "sending": 1, "unknown": 1, "sent": 2, "simulated": 2, "failed": 3, "delivered": 4}


def apply_delivery(rt, report: DeliveryReport) -> str:
    """Update the message AT reports on; idempotent. Returns what happened."""
    window = timedelta(seconds=rt.settings.SMS_RECONCILE_SECONDS)
    now = utcnow()
    with rt.sessions.begin() as s:
        # FOR UPDATE (PostgreSQL): the sweeper changes rows with conditional UPDATEs; holding the
        # row keeps our read-then-write from overwriting a change made in between.
        row = s.scalar(select(Message).where(Message.at_message_id == report.at_id, Message.direction == "out")
                       .with_for_update())
        if row is not None and report.phone and report.phone != row.phone:
            log.warning("delivery report %s names another number than its message; ignored", report.at_id)
            return "phone-mismatch"
        if row is None and report.phone:
            candidates = _unknown_in_window(s, [report.phone], now, now, window).get(report.phone, [])
            if len(candidates) == 1:
                row = candidates[0]
                row.at_message_id = report.at_id
        if row is None:
            _keep_pending(s, report)
            outcome = "stored-for-matching"
        else:
            outcome = _apply(row, report.status, report.failure_reason or report.at_status, report.retry_count)
            if outcome in ("delivered", "failed") and row.attempted_at is not None:
                DELIVERY_REPORT_LAG.observe(max(0.0, (now - as_utc(row.attempted_at)).total_seconds()))
    if outcome == "stored-for-matching":
        flag_pending_reports(rt)
    if report.opted_out and report.phone:
        consent.record_opt_out(rt, report.phone)  # AT has told the citizen already
    return outcome


def _keep_pending(s, report: DeliveryReport) -> None:
    """Store a report that waits for its message; of several for one id, the strongest status
    (:data:`_RANK`) is what will be applied."""
    kept = s.scalar(select(PendingDeliveryReport).where(PendingDeliveryReport.at_message_id == report.at_id)
                    .with_for_update())
    if kept is None:
        s.add(PendingDeliveryReport(at_message_id=report.at_id, phone=report.phone, status=report.status,
                                    at_status=report.at_status, failure_reason=report.failure_reason,
                                    retry_count=report.retry_count))
    elif _RANK.get(report.status, 0) > _RANK.get(kept.status, 0):
        kept.status, kept.at_status = report.status, report.at_status
        kept.failure_reason, kept.retry_count = report.failure_reason, report.retry_count


def _unknown_in_window(s, phones: list[str], first: datetime, last: datetime,
                       window: timedelta) -> dict[str, list[Message]]:
    """Unknown rows per number that may have waited for a report received between ``first`` and
    ``last`` (one query; :func:`_waited_for` tells for each report)."""
    rows = s.scalars(select(Message).where(
        Message.direction == "out", Message.status == "unknown", Message.phone.in_(phones),
        _attempted_at() <= last, Message.updated_at >= first - window).with_for_update())
    found: dict[str, list[Message]] = defaultdict(list)
    for row in rows:
        found[row.phone].append(row)
    return found


def _apply(row: Message, status: str, reason: str | None, retry_count: int | None = None) -> str:
    if retry_count is not None:
        row.retry_count = retry_count  # AT's count of its own attempts, whatever the status says
    if status == "unknown":
        return "ignored-unknown-status"
    # A late 'Sent' never undoes 'delivered'; a final failure does not undo delivery either.
    if row.status == "delivered" or _RANK.get(status, 0) < _RANK.get(row.status, 0):
        return "unchanged"
    row.status = status
    if status == "failed":
        row.failure_reason = (reason or "Failed")[:64]
    elif status == "delivered":
        row.failure_reason = None  # AT's own retry got it through: the earlier reason is stale
    row.updated_at = utcnow()
    return status


PENDING_FLAG = "sms:dlr:pending"


def flag_pending_reports(rt) -> None:
    """Say "a delivery report waits for its message", so senders look for it (see below)."""
    try:
        rt.redis.set(PENDING_FLAG, "1")
    except Exception:
        log.warning("redis unavailable: the sweeper will match the waiting delivery report")


def pending_reports_flagged(rt) -> bool:
    """Whether any report waits for its message. A report that beats our write of AT's id is
    rare; without this flag every batch would query for one. True when Redis cannot tell."""
    try:
        return bool(rt.redis.exists(PENDING_FLAG))
    except Exception:
        return True


def pending_ttl(rt) -> timedelta:
    """How long a report waits for its message: one that beats our write of AT's id does so by
    moments, and one for an unknown send is useless once the send's reconcile window is over."""
    return max(timedelta(seconds=2 * rt.settings.SMS_RECONCILE_SECONDS), timedelta(minutes=10))


def apply_all_pending_reports(rt, limit: int = 5000) -> int:
    """Sweeper's net: apply waiting reports to rows that now carry their id, drop those past
    :func:`pending_ttl`, and keep the flag up only while a recent report waits. The flag is
    cleared first, so a report stored meanwhile sets it again."""
    try:
        rt.redis.delete(PENDING_FLAG)
    except Exception:
        pass
    now = utcnow()
    with rt.sessions.begin() as s:
        s.execute(delete(PendingDeliveryReport).where(PendingDeliveryReport.received_at < now - pending_ttl(rt)))
        ids = list(s.scalars(select(PendingDeliveryReport.at_message_id).limit(limit)))
        applied = apply_pending_reports(s, ids)
        waiting_recent = s.scalar(select(func.count()).select_from(PendingDeliveryReport)
                                  .where(PendingDeliveryReport.received_at > now - timedelta(minutes=10)))
    if waiting_recent:
        flag_pending_reports(rt)
    return applied


def apply_pending_reports(s, message_ids: list[str]) -> int:
    """Delivery reports that arrived before we recorded their AT id (session ``s``), matched in
    one query; returns how many were applied."""
    if not message_ids:
        return 0
    matched = s.execute(
        select(PendingDeliveryReport, Message)
        .join(Message, Message.at_message_id == PendingDeliveryReport.at_message_id)
        .where(PendingDeliveryReport.at_message_id.in_(message_ids), Message.direction == "out")
        .with_for_update()).all()
    for pending, row in matched:
        if not pending.phone or pending.phone == row.phone:
            _apply(row, pending.status, pending.failure_reason or pending.at_status, pending.retry_count)
        s.delete(pending)
    return len(matched)


def settle_unknown_from_reports(rt, limit: int = 5000) -> int:
    """Settle unknown sends with waiting reports by the reconciliation rule (module docstring):
    all waiting reports and all candidate rows are read in two queries."""
    window = timedelta(seconds=rt.settings.SMS_RECONCILE_SECONDS)
    settled = 0
    with rt.sessions.begin() as s:
        reports = list(s.scalars(select(PendingDeliveryReport).where(PendingDeliveryReport.phone.is_not(None))
                                 .order_by(PendingDeliveryReport.received_at).limit(limit)))
        if not reports:
            return 0
        oldest = min(as_utc(r.received_at) for r in reports)
        newest = max(as_utc(r.received_at) for r in reports)
        candidates = _unknown_in_window(s, sorted({r.phone for r in reports}), oldest, newest, window)
        for report in reports:
            at = as_utc(report.received_at)
            mine = [m for m in candidates.get(report.phone, [])
                    if m.status == "unknown" and _waited_for(m, at, window)]
            if len(mine) != 1:
                continue
            row = mine[0]
            row.at_message_id, row.status = report.at_message_id, "sent"
            _apply(row, report.status, report.failure_reason or report.at_status, report.retry_count)
            s.delete(report)
            settled += 1
    return settled


def _attempted_at():
    # Rows from before attempted_at was recorded: their last change is the closest we know.
    return func.coalesce(Message.attempted_at, Message.updated_at)


def _waited_for(row: Message, at: datetime, window: timedelta) -> bool:
    """Whether ``row`` (unknown) was waiting for a report received at ``at``: its attempt had
    left, and its wait for a report (``window`` from when it became unknown) was not over."""
    return as_utc(row.attempted_at or row.updated_at) <= at and as_utc(row.updated_at) >= at - window

