"""The usage job the sweeper schedule queues (``workers.usage.housekeep``).

Contract: :func:`housekeep` drains the hop stream into SQL every time; rolls up closed days
and applies retention at most once per ``SLOW_EVERY`` seconds across all workers (a Redis
key), since they only change once a day.
"""

from __future__ import annotations

from gateway import jobs
from gateway.usage import events, retention

SLOW_EVERY = 600
SLOW_FLAG = "usage:rollup:recent"


def housekeep(rt) -> dict:
    """Drain the stream; now and then roll up closed days and apply retention."""
    jobs.started(rt, jobs.USAGE_FLAG)
    done = {"hops_stored": events.drain(rt)}
    if rt.redis.set(SLOW_FLAG, "1", nx=True, ex=SLOW_EVERY):
        done["retention"] = retention.apply(rt)  # rolls up first
    return done
