"""The only place that names worker jobs. Jobs are referenced by dotted path, so the gateway
never imports ``workers`` (layers: workers → gateway), and their arguments are JSON-safe.

Draining jobs (send a queue's outbox rows, answer stored inbound SMS) are queued with
:func:`enqueue_once`: one waiting job is enough, because it takes every row there is when it
starts. A flag in Redis says "a job is waiting"; the job clears it with :func:`started` before
it looks for rows, so a row written after that gets a job of its own. Without this, every row
would queue a job and the workers would run hundreds of empty ones.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
FLAG_TTL = 60  # a flag outlives a lost job by at most this long (the sweeper also forces a job)

PING = "workers.health.ping"

QUEUE_REPLIES = "replies"  # citizen-facing: always served first
QUEUE_BULK = "bulk"
# Staff work (the centres CSV import) that once held a web process for a minute: taken only when
# no reply and no bulk job waits, so a citizen's reply never queues behind it.
QUEUE_STAFF = "staff"
QUEUES = (QUEUE_REPLIES, QUEUE_BULK, QUEUE_STAFF)  # the order every worker serves them in
SMS_QUEUES = (QUEUE_REPLIES, QUEUE_BULK)  # the outbox's queues (Message.queue)

HANDLE_INBOUND = "workers.inbound.handle"  # (message_id) → parse keyword, reply through the outbox
DRAIN_INBOUND = "workers.inbound.drain"  # () → answer every stored inbound SMS, oldest first
SEND_PENDING = "workers.sms.send_pending"  # (queue, release=False) → claim and send that queue's rows
SWEEP = "workers.sms.sweep"  # () → leases, reconciliation deadlines, lost jobs
STAFF_NOTICES = "workers.staff.notices"  # () → texts to staff about approvals (gateway.staff.staff_notices)
STAFF_NOTICES_FLAG = "staff:notices:kick"
STAFF_NOTICES_TIMEOUT = 300
USAGE = "workers.usage.housekeep"  # () → hop stream into SQL; now and then roll-ups and retention
USAGE_FLAG = "usage:kick"
USAGE_TIMEOUT = 1800  # the first roll-up of a year of detail takes about a minute
FAN_OUT = "workers.broadcasts.fan_out"  # (broadcast_id) → one bulk outbox row per recipient
FAN_OUT_TIMEOUT = 1800
CENTRES_PREVIEW = "workers.centres.preview"  # (staff_id, token, filename) → dry-run report, new token
CENTRES_IMPORT = "workers.centres.apply"  # (staff_id, token, filename, address) → import report  # 100,000 recipients are 100 chunks of ~0.1 s; room for a slow database


def enqueue_once(rt, queue: str, func: str, *args, flag: str, job_timeout: int, force: bool = False,
                 at_front: bool = False) -> bool:
    """Queue ``func(*args)`` on ``queue`` unless a job for ``flag`` is waiting; ``force`` (the
    sweeper, a job handing over its rest) queues one regardless; ``at_front`` puts it before
    the jobs already waiting. True if a job was queued.
    Redis errors propagate: callers decide whether the sweeper may catch up instead."""
    if not (force or rt.redis.set(flag, "1", nx=True, ex=FLAG_TTL)):
        return False
    rt.queue(queue).enqueue(func, *args, job_timeout=job_timeout, at_front=at_front)
    return True


def waiting(rt, flag: str) -> bool:
    """Whether the job :func:`enqueue_once` queued for ``flag`` waits still (False if Redis fails)."""
    try:
        return bool(rt.redis.exists(flag))
    except Exception:
        return False


def started(rt, flag: str) -> None:
    """A draining job has started: from here on, a new row needs a new job."""
    try:
        rt.redis.delete(flag)
    except Exception:
        log.warning("redis unavailable: job flag %s not cleared", flag)
