"""What is waiting to be sent, read from the rows and the queues: the figures ``/metrics``
exposes at scrape time and ``thusong status`` shows.

Contract: :func:`snapshot` returns a :class:`Backlog` in a handful of small queries, each an
index probe (``ix_messages_outbox``: status, queue, created_at; ``broadcast_id``) — never a
scan of the sent messages, which grow without end. Redis errors propagate; so do SQL errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rq.registry import FailedJobRegistry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway import jobs
from gateway.store.models import Broadcast, Message, PendingDeliveryReport, as_utc

# An outbound row is unsent until AT has it: queued, claimed (sending), waiting to retry, or
# sent with an outcome nobody knows yet (waits for a report or its one resend).
UNSENT = ("queued", "sending", "retry", "unknown")
RUNNING = ("sending", "paused")  # broadcasts whose rows are being sent


@dataclass(frozen=True)
class BroadcastProgress:
    id: int
    status: str
    recipients: int
    rows: dict[str, int]  # outbox rows by status


@dataclass(frozen=True)
class Backlog:
    queued_jobs: dict[str, int] = field(default_factory=dict)  # RQ jobs waiting, by queue
    failed_jobs: dict[str, int] = field(default_factory=dict)  # RQ's failed-job registry, by queue
    unsent: dict[tuple[str, str], int] = field(default_factory=dict)  # (queue, status) → rows
    oldest_unsent: dict[str, datetime | None] = field(default_factory=dict)  # queue → created_at
    reports_waiting: int = 0  # delivery reports whose message is not matched yet
    broadcasts: list[BroadcastProgress] = field(default_factory=list)


def oldest_unsent(session: Session, queue: str) -> datetime | None:
    """When the oldest unsent row of ``queue`` was written (None: nothing waits). One probe per
    status: ``min()`` over an equality prefix of the index is answered from its first entry."""
    found = [session.scalar(select(func.min(Message.created_at)).where(Message.status == status,
                                                                       Message.queue == queue))
             for status in UNSENT]
    found = [as_utc(at) for at in found if at is not None]
    return min(found) if found else None


def snapshot(rt) -> Backlog:
    """The queues' depths and the outbox's unsent rows, oldest ages and running broadcasts."""
    queued = {name: rt.queue(name).count for name in jobs.QUEUES}
    failed = {name: FailedJobRegistry(queue=rt.queue(name)).count for name in jobs.QUEUES}
    with rt.sessions() as s:
        unsent = {(q, st): n for q, st, n in s.execute(
            select(Message.queue, Message.status, func.count()).where(Message.status.in_(UNSENT),
                                                                      Message.queue.is_not(None))
            .group_by(Message.queue, Message.status))}
        oldest = {name: oldest_unsent(s, name) for name in jobs.SMS_QUEUES}
        waiting = s.scalar(select(func.count()).select_from(PendingDeliveryReport)) or 0
        running = s.execute(select(Broadcast.id, Broadcast.status, Broadcast.recipients)
                            .where(Broadcast.status.in_(RUNNING)).order_by(Broadcast.id)).all()
        rows: dict[int, dict[str, int]] = {row.id: {} for row in running}
        if rows:
            for bid, status, n in s.execute(select(Message.broadcast_id, Message.status, func.count())
                                            .where(Message.broadcast_id.in_(list(rows)))
                                            .group_by(Message.broadcast_id, Message.status)):
                rows[bid][status] = n
    progress = [BroadcastProgress(r.id, r.status, r.recipients or 0, rows[r.id]) for r in running]
    return Backlog(queued, failed, unsent, oldest, waiting, progress)
