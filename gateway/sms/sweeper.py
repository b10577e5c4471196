"""The sweeper: periodic housekeeping a worker runs (``workers.sms.sweep``), so nothing a
killed worker or a Redis outage left behind is lost.

Contract: :func:`sweep` moves sends whose lease expired to ``unknown``; settles unknown rows
and early reports with waiting delivery reports; resends once (then fails) what stayed unknown
past the reconcile window; releases retries whose back-off is over; queues a send job for any
queue with waiting rows; has inbound SMS that wait too long answered; restarts a broadcast's
fan-out that a dead worker lost and marks finished broadcasts sent.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from gateway.sms import bulk, delivery, inbound
from gateway.sms.outbox import kick
from gateway.sms.sending import release_due_retries
from gateway.store.models import Message, utcnow


def sweep(rt) -> dict:
    """Housekeeping a worker runs periodically: expired leases → unknown; unknown rows settled
    by waiting delivery reports; unknown past the reconcile window → one resend (or failed);
    queued rows with no job → a job; inbound SMS whose job was lost → requeued."""
    now = utcnow()
    lease = timedelta(seconds=rt.settings.SMS_SEND_LEASE_SECONDS)
    window = timedelta(seconds=rt.settings.SMS_RECONCILE_SECONDS)
    with rt.sessions.begin() as s:
        leased = s.execute(update(Message).where(
            Message.direction == "out", Message.status == "sending", Message.updated_at < now - lease)
            .values(status="unknown", updated_at=now)).rowcount
    settled = delivery.settle_unknown_from_reports(rt) + delivery.apply_all_pending_reports(rt)
    release_due_retries(rt)
    # Conditional UPDATEs, never load-then-write: a delivery report (or a sweep in another
    # worker) may settle a row between our look and our write, and must not be overwritten.
    stale = (Message.direction == "out") & (Message.status == "unknown") & (Message.updated_at < now - window)
    with rt.sessions.begin() as s:
        failed = s.execute(update(Message).where(stale, Message.resends >= 1)
                           .values(status="failed", failure_reason="OutcomeUnknown", updated_at=now)).rowcount
        resent = s.execute(update(Message).where(stale, Message.resends == 0)
                           .values(status="queued", resends=Message.resends + 1, failure_reason="ResentNoReport",
                                   updated_at=now)).rowcount
        waiting = {q for q in s.scalars(select(Message.queue).where(Message.direction == "out",
                                                                     Message.status == "queued").distinct()) if q}
    for queue in waiting:
        kick(rt, queue, force=True)
    requeued = inbound.requeue_stale(rt)
    fan_outs = bulk.restart_stalled_fan_outs(rt, lease)
    finished = bulk.finish_done(rt)  # the last rows may have been settled by delivery reports
    return {"lease_expired": leased, "settled": settled, "resent": resent, "failed": failed,
            "kicked": sorted(waiting), "inbound_requeued": requeued, "fan_outs_restarted": fan_outs,
            "broadcasts_finished": finished}
