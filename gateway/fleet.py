"""The worker fleet as Redis knows it: workers registered per queue, the age of the RQ
scheduler's last heartbeat per queue, and the age of each queue's oldest failed job — what
``/metrics`` exposes so that an alert sees a dead worker, a stopped scheduler or jobs failing.

Contract: :func:`snapshot` reads RQ's own records (workers' registrations, the scheduler's lock
and metadata hash, the failed-job registries) in a few round trips; Redis errors propagate.
An age is ``inf`` when nothing answers for that queue (no scheduler holds its lock), so an
alert on "older than N seconds" fires without needing the series to be absent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rq import Worker
from rq.registry import FailedJobRegistry
from rq.scheduler import RQScheduler
from rq.utils import utcparse

from gateway import jobs

SCHEDULER_KEY = "rq:scheduler:%s"  # RQ's metadata hash of a scheduler, by name (rq/scheduler.py)


@dataclass(frozen=True)
class Fleet:
    workers: dict[str, int] = field(default_factory=dict)  # queue → workers registered on it
    scheduler_age: dict[str, float] = field(default_factory=dict)  # queue → s since its scheduler's beat
    oldest_failed_age: dict[str, float] = field(default_factory=dict)  # queue → s (0: none failed)


def _age(now: datetime, at: datetime | None) -> float:
    if at is None:
        return math.inf
    return max(0.0, (now - (at if at.tzinfo else at.replace(tzinfo=UTC))).total_seconds())


def scheduler_age(rt, queue: str, now: datetime) -> float:
    """Seconds since the scheduler holding ``queue``'s lock last beat (``inf``: none holds it)."""
    holder = rt.redis.get(RQScheduler.get_locking_key(queue))
    if holder is None:
        return math.inf
    name = holder.decode() if isinstance(holder, bytes) else holder
    beat = rt.redis.hget(SCHEDULER_KEY % name, "last_heartbeat")
    return _age(now, utcparse(beat.decode() if isinstance(beat, bytes) else beat) if beat else None)


def oldest_failed_age(rt, queue: str, now: datetime) -> float:
    """Seconds since the oldest job in ``queue``'s failed registry failed (0: none)."""
    registry = FailedJobRegistry(queue=rt.queue(queue))
    oldest = registry.get_job_ids(0, 0)  # the registry is sorted by expiry: first failed first
    if not oldest:
        return 0.0
    job = rt.queue(queue).fetch_job(oldest[0])
    return _age(now, job.ended_at) if job is not None and job.ended_at else 0.0


def snapshot(rt, now: datetime | None = None) -> Fleet:
    """The fleet now: workers per queue, scheduler heartbeat ages, oldest failed job ages."""
    now = now or datetime.now(UTC)
    workers = {name: 0 for name in jobs.QUEUES}
    for worker in Worker.all(connection=rt.redis):
        for name in worker.queue_names():
            if name in workers:
                workers[name] += 1
    return Fleet(workers,
                 {name: scheduler_age(rt, name, now) for name in jobs.QUEUES},
                 {name: oldest_failed_age(rt, name, now) for name in jobs.QUEUES})
