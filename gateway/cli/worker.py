"""``thusong worker``: one RQ worker with RQ's scheduler and the housekeeping sweeper.

Its own module so that a worker imports what jobs need and not the web app, gunicorn or the
other commands (see the lazy command table in :mod:`gateway.cli`): workers are started often,
by systemd on a deploy and by the tests.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

import click
import redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from config import configure_logging
from gateway import fleet, jobs
from gateway.cli.common import runtime_for, settings_or_exit
from gateway.runtime import Runtime
from gateway.sms import drain_lease
from gateway.traced import TracedJob

log = logging.getLogger("thusong")


@click.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty (for scripts and tests).")
@click.option("--name", default=None,
              help="Worker name (default: generated). A dead worker's registration of this name is cleared at start.")
@click.option("--sweep-every", default=15.0, show_default=True, type=float,
              help="Seconds between housekeeping sweeps (lost jobs, expired leases).")
def worker(burst: bool, name: str | None, sweep_every: float) -> None:
    """Run one RQ worker on the queues `replies` (first), `bulk`, then `staff` (centres imports).

    It also runs RQ's scheduler (for retries with back-off) and, every --sweep-every seconds,
    queues a sweep that re-queues work a killed worker left behind and the analytics job
    (USSD hops from their Redis stream into SQL; daily roll-ups and retention) and the staff's
    texts about approvals (gateway.staff.staff_notices); between
    sweeps it takes over a bulk drain whose worker died (gateway.sms.drain_lease). A thread beats
    every WORKER_HEARTBEAT_SECONDS whatever the job in hand (`thusong status` calls a worker
    silent for three beats dead) and registers the worker again if Redis restarted empty.
    """
    settings = settings_or_exit()
    configure_logging(settings.LOG_LEVEL, settings.LOG_JSON)
    rt = runtime_for(settings)
    stop = threading.Event()

    def sweeper() -> None:
        # Between sweeps, a look every quarter of the bulk drain lease: a drain whose lease
        # lapsed (its worker died) is taken over now, not at the next sweep.
        tick = min(sweep_every, settings.SMS_DRAIN_LEASE_SECONDS / 4)
        due = time.monotonic() + sweep_every
        while not stop.wait(tick):
            try:
                drain_lease.take_over_if_orphaned(rt)
                if time.monotonic() < due:
                    continue
                due = time.monotonic() + sweep_every
                # One sweep per interval across all workers: whoever takes the lock queues it.
                if rt.redis.set("sweep:lock", "1", nx=True, ex=max(int(sweep_every), 1)):
                    rt.queue(jobs.QUEUE_REPLIES).enqueue(jobs.SWEEP)
                    # Analytics wait behind citizens' replies (the bulk queue); one waiting job
                    # is enough, so a long broadcast does not pile them up.
                    jobs.enqueue_once(rt, jobs.QUEUE_BULK, jobs.USAGE, flag=jobs.USAGE_FLAG,
                                      job_timeout=jobs.USAGE_TIMEOUT)
                    # Texts to staff about approvals: staff work, behind citizens' replies and bulk.
                    jobs.enqueue_once(rt, jobs.QUEUE_STAFF, jobs.STAFF_NOTICES, flag=jobs.STAFF_NOTICES_FLAG,
                                      job_timeout=jobs.STAFF_NOTICES_TIMEOUT)
            except Exception:
                log.warning("sweep not queued (redis unavailable?)")

    try:
        if not burst:
            threading.Thread(target=sweeper, daemon=True).start()
        # RQ's loop ends, without a stop asked for, when Redis fails outside its blocking read
        # (a restart): its scheduler process is gone by then. Start again, same name, once
        # Redis answers — under any supervisor, and without a crash loop while Redis is down.
        while not _wait_for_redis(rt):
            w = _Worker([rt.queue(q) for q in jobs.QUEUES], connection=rt.redis, name=name,
                        serializer=JSONSerializer, every=settings.WORKER_HEARTBEAT_SECONDS,
                        job_class=TracedJob)  # logs under the queuing request's id
            name = w.name  # a generated name too: the next run clears this one's registration
            try:
                _run(rt, w, burst)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if burst:
                    raise click.ClickException(f"redis unavailable: {exc}") from None
                log.warning("worker %s: redis failed (%s): starting again once it answers", name, exc)
            if burst or w.told_to_stop:
                return
            log.warning("worker %s: RQ's loop ended without a stop signal: starting again once redis answers", name)
    finally:
        stop.set()
        rt.close()


class _Worker(SimpleWorker):
    """RQ's in-process worker, tuned to notice failures in seconds, that remembers whether it
    was told to stop (SIGTERM, SIGINT, ``rq shutdown``) — any other end of its loop is an
    accident to recover from.

    RQ's main loop looks after the scheduler (starting one when no live worker holds its lock:
    the first start, a dead holder, a Redis that restarted empty) only between jobs and
    blocking reads, every maintenance_interval: RQ's 10 minutes and 405 s reads left retries
    unscheduled that long. Here a read blocks for one heartbeat, the scheduler is looked after
    every three, and a lost Redis is tried again at least once a beat."""

    told_to_stop = False

    def __init__(self, queues, every: float, **kwargs):
        super().__init__(queues, worker_ttl=15 + max(int(every), 1),
                         maintenance_interval=max(int(fleet.MISSED_BEATS * every), 1), **kwargs)
        self.max_connection_wait_time = every
        self.every = every

    def request_stop(self, signum, frame):
        self.told_to_stop = True
        super().request_stop(signum, frame)


def _run(rt: Runtime, w: _Worker, burst: bool) -> None:
    """One life of an RQ worker: housekeeping queued, the name claimed, the heartbeat beside."""
    rt.queue(jobs.QUEUE_REPLIES).enqueue(jobs.SWEEP)  # pick up what a dead worker (or a lost Redis) left
    jobs.enqueue_once(rt, jobs.QUEUE_BULK, jobs.USAGE, flag=jobs.USAGE_FLAG, job_timeout=jobs.USAGE_TIMEOUT,
                      force=True)
    _claim_name(rt, w.name)
    heartbeat = fleet.Heartbeat(w, w.every).start()
    try:
        # Jobs run in this process, not a fork per job: a send job then reuses the worker's
        # runtime (SQL pool, Redis, SDK session) instead of building one each time (~0.1 s).
        # A worker killed mid-job loses nothing: the outbox lease and the sweeper recover.
        w.work(burst=burst, logging_level=rt.settings.LOG_LEVEL, with_scheduler=True)
    finally:
        heartbeat.stop()
        try:
            w.unsubscribe()  # RQ's command listener, left running when its teardown failed
        except redis.RedisError:
            pass


def _wait_for_redis(rt: Runtime) -> bool:
    """Block until Redis answers a ping; True if SIGTERM or SIGINT came meanwhile (stop)."""
    told = threading.Event()
    before = {sig: signal.signal(sig, lambda *_: told.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    said = False
    try:
        while not told.is_set():
            try:
                rt.redis.ping()
                return False
            except redis.RedisError as exc:
                if not said:
                    log.warning("redis unavailable (%s): the worker starts once it answers", exc)
                    said = True
            told.wait(1.0)
        return True
    finally:
        for sig, handler in before.items():  # until RQ installs its own: a signal ends the process
            signal.signal(sig, handler)


def _claim_name(rt: Runtime, name: str) -> None:
    """Free ``name`` of a dead worker's registration (systemd restarts a killed worker under
    its unit's name at once). A namesake still beating may be an unrelated process that took
    the dead one's pid: it is waited for until its beats would have run out; then a worker
    truly alive under the name is an error."""
    every = rt.settings.WORKER_HEARTBEAT_SECONDS
    deadline = time.monotonic() + (fleet.MISSED_BEATS + 1) * every
    while True:
        try:
            dead = fleet.clear_dead_namesake(rt.redis, name, every)
        except fleet.NameTaken as exc:
            if time.monotonic() > deadline:
                raise click.ClickException(f"{exc}; give each worker a name of its own") from None
            time.sleep(min(every, 1.0))
            continue
        if dead is not None:
            log.warning("worker %s: cleared the registration a dead worker left under this name: %s",
                        name, dead.describe())
        return
