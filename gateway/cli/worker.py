"""``thusong worker``: one RQ worker with RQ's scheduler and the housekeeping sweeper.

Its own module so that a worker imports what jobs need and not the web app, gunicorn or the
other commands (see the lazy command table in :mod:`gateway.cli`): workers are started often,
by systemd on a deploy and by the tests.
"""

from __future__ import annotations

import logging
import threading

import click
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from config import configure_logging
from gateway import jobs
from gateway.cli.common import runtime_for, settings_or_exit
from gateway.traced import TracedJob

log = logging.getLogger("thusong")


@click.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty (for scripts and tests).")
@click.option("--name", default=None, help="Worker name (default: generated).")
@click.option("--sweep-every", default=15.0, show_default=True, type=float,
              help="Seconds between housekeeping sweeps (lost jobs, expired leases).")
def worker(burst: bool, name: str | None, sweep_every: float) -> None:
    """Run one RQ worker on the queues `replies` (first), `bulk`, then `staff` (centres imports).

    It also runs RQ's scheduler (for retries with back-off) and, every --sweep-every seconds,
    queues a sweep that re-queues work a killed worker left behind and the analytics job
    (USSD hops from their Redis stream into SQL; daily roll-ups and retention).
    """
    settings = settings_or_exit()
    configure_logging(settings.LOG_LEVEL, settings.LOG_JSON)
    rt = runtime_for(settings)
    stop = threading.Event()

    def sweeper() -> None:
        while not stop.wait(sweep_every):
            try:
                # One sweep per interval across all workers: whoever takes the lock queues it.
                if rt.redis.set("sweep:lock", "1", nx=True, ex=max(int(sweep_every), 1)):
                    rt.queue(jobs.QUEUE_REPLIES).enqueue(jobs.SWEEP)
                    # Analytics wait behind citizens' replies (the bulk queue); one waiting job
                    # is enough, so a long broadcast does not pile them up.
                    jobs.enqueue_once(rt, jobs.QUEUE_BULK, jobs.USAGE, flag=jobs.USAGE_FLAG,
                                      job_timeout=jobs.USAGE_TIMEOUT)
            except Exception:
                log.warning("sweep not queued (redis unavailable?)")

    try:
        rt.queue(jobs.QUEUE_REPLIES).enqueue(jobs.SWEEP)  # pick up what a dead worker left
        jobs.enqueue_once(rt, jobs.QUEUE_BULK, jobs.USAGE, flag=jobs.USAGE_FLAG, job_timeout=jobs.USAGE_TIMEOUT,
                          force=True)
        if not burst:
            threading.Thread(target=sweeper, daemon=True).start()
        # Jobs run in this process, not a fork per job: a send job then reuses the worker's
        # runtime (SQL pool, Redis, SDK session) instead of building one each time (~0.1 s).
        # A worker killed mid-job loses nothing: the outbox lease and the sweeper recover.
        w = SimpleWorker([rt.queue(q) for q in jobs.QUEUES], connection=rt.redis, name=name,
                         serializer=JSONSerializer, job_class=TracedJob)  # logs under the queuing request's id
        w.work(burst=burst, logging_level=settings.LOG_LEVEL, with_scheduler=True)
    finally:
        stop.set()
        rt.close()
