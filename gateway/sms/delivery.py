"""Delivery reports: AT tells us what became of each message we handed it.

Contract: :func:`apply_delivery` updates the outbox row AT reports on (idempotent; a late
interim status never undoes a final one; ``delivered`` clears a stale failure reason) and
returns what happened. A report can beat our own write of AT's message id, or belong to a
send whose outcome we never learnt: it is then kept as a ``PendingDeliveryReport``, and
applied when a row with that id appears (:func:`apply_pending_reports`, by the sender while
:data:`PENDING_FLAG` is up) or settles an ``unknown`` send to the same number (the sweeper).
A ``UserInBlackList`` report opts the number out at once, matched or not.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select

from gateway.channels.africastalking import DeliveryReport
from gateway.sms import consent
from gateway.store.models import Message, PendingDeliveryReport, utcnow

log = logging.getLogger(__name__)

_RANK = {"queued": 0, "retry": 0, "sending": 1, "unknown": 1, "sent": 2, "simulated": 2, "failed": 3, "delivered": 4}


def apply_delivery(rt, report: DeliveryReport) -> str:
    """Update the message AT reports on; idempotent. Returns what happened."""
    with rt.sessions.begin() as s:
        # FOR UPDATE (PostgreSQL): the sweeper changes rows with conditional UPDATEs; holding the
        # row keeps our read-then-write from overwriting a change made in between.
        row = s.scalar(select(Message).where(Message.at_message_id == report.at_id, Message.direction == "out")
                       .with_for_update())
        if row is None:
            row = _reconcile_unknown(s, report)
        if row is None:
            exists = s.scalar(select(PendingDeliveryReport).where(PendingDeliveryReport.at_message_id == report.at_id))
            if exists is None:
                s.add(PendingDeliveryReport(at_message_id=report.at_id, phone=report.phone, status=report.status,
                                            at_status=report.at_status, failure_reason=report.failure_reason,
                                            retry_count=report.retry_count))
            outcome = "stored-for-matching"
        else:
            outcome = _apply(row, report.status, report.failure_reason or report.at_status, report.retry_count)
    if outcome == "stored-for-matching":
        flag_pending_reports(rt)
    # A blacklisted number is opted out even when the report's message is not matched yet.
    if report.opted_out and report.phone:
        consent.record_opt_out(rt, report.phone)  # AT has told the citizen already
    return outcome


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


def _reconcile_unknown(s, report: DeliveryReport) -> Message | None:
    """A report for an id we never recorded settles an 'unknown' send to the same number."""
    if not report.phone:
        return None
    row = s.scalar(select(Message).where(Message.phone == report.phone, Message.direction == "out",
                                         Message.status == "unknown").order_by(Message.id).with_for_update())
    if row is not None:
        row.at_message_id = report.at_id
    return row


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


def apply_all_pending_reports(rt, limit: int = 1000) -> int:
    """Sweeper's net: match waiting reports to rows that now carry their id. The flag stays
    up only while a recent report waits: one that beats our write does so by moments, while
    an old one (a send we never recorded) is left to reconciliation by number. The flag is
    cleared first, so a report stored meanwhile sets it again."""
    try:
        rt.redis.delete(PENDING_FLAG)
    except Exception:
        pass
    recent = utcnow() - timedelta(minutes=10)
    with rt.sessions.begin() as s:
        ids = list(s.scalars(select(PendingDeliveryReport.at_message_id).limit(limit)))
        apply_pending_reports(s, ids)
        s.flush()
        left = s.scalar(select(func.count()).select_from(PendingDeliveryReport)
                        .where(PendingDeliveryReport.at_message_id.in_(ids)))
        waiting_recent = s.scalar(select(func.count()).select_from(PendingDeliveryReport)
                                  .where(PendingDeliveryReport.received_at > recent))
    if waiting_recent:
        flag_pending_reports(rt)
    return len(ids) - (left or 0)


def apply_pending_reports(s, message_ids: list[str]) -> None:
    """Delivery reports that arrived before we recorded their AT id (session ``s``)."""
    if not message_ids:
        return
    pending = list(s.scalars(select(PendingDeliveryReport).where(PendingDeliveryReport.at_message_id.in_(message_ids))))
    for p in pending:
        row = s.scalar(select(Message).where(Message.at_message_id == p.at_message_id).with_for_update())
        if row is not None:
            _apply(row, p.status, p.failure_reason or p.at_status, p.retry_count)
            s.delete(p)


def settle_unknown_from_reports(rt) -> int:
    """Match waiting delivery reports (ids we never recorded) to unknown rows by number."""
    settled = 0
    with rt.sessions.begin() as s:
        for report in list(s.scalars(select(PendingDeliveryReport).where(PendingDeliveryReport.phone.is_not(None)))):
            row = s.scalar(select(Message).where(Message.phone == report.phone, Message.direction == "out",
                                                 Message.status == "unknown").order_by(Message.id).with_for_update())
            if row is None:
                continue
            row.at_message_id = report.at_message_id
            row.status = "sent"
            _apply(row, report.status, report.failure_reason or report.at_status, report.retry_count)
            s.delete(report)
            settled += 1
    return settled
