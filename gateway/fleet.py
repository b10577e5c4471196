"""The RQ workers and RQ's scheduler as Redis sees them: who is alive, judged by heartbeat.

RQ refreshes a worker's registration (``rq:worker:<name>``) only from its main loop: between
jobs, and at the start of each job for the job's whole timeout (a send job: 11 minutes). A
worker killed mid-job stayed registered that long: counted alive by ``thusong status`` and
``rq info``, and its name refused to the restarted process ("There exists an active worker
named … already"). A Redis that restarts empty forgets every registration, and RQ writes it
back only at a worker's birth.

So every ``thusong worker`` also beats from a thread of its own (:class:`Heartbeat`),
independent of the job in hand: every ``every`` seconds it writes RQ's ``last_heartbeat``
field (and :data:`EVERY_FIELD`, the period it promises), and writes the whole registration
back if Redis lost it. A worker silent for :data:`MISSED_BEATS` periods is dead
(:func:`workers`), whatever its key's time-to-live says.

Contract (each function takes the Redis connection first):
- :func:`workers` — every registered worker, alive or dead, as :class:`Member`.
- :func:`clear_dead_namesake` — before a worker starts under a fixed name: a dead registration
  of that name is marked dead with RQ's own ``register_death``; a live one raises
  :class:`NameTaken`.
- :func:`schedulers` — per queue, the RQ scheduler holding its lock, alive or dead.
- :func:`snapshot` — what ``/metrics`` shows of them: workers alive per queue, the age of each
  queue's scheduler heartbeat (``inf``: none holds it, so an alert on "older than N seconds"
  fires without needing an absent series) and of its oldest failed job (0: none).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime

import redis
from rq import SimpleWorker, worker_registration
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.utils import decode_redis_hash, now, utcformat, utcparse

log = logging.getLogger(__name__)
MISSED_BEATS = 3  # silent this many periods: dead (one late beat on a loaded host is not death)
EVERY_FIELD = "thusong_heartbeat_every"  # in the worker's RQ hash: the period its thread beats at


class NameTaken(Exception):
    """A live worker (its heartbeat is recent) is registered under the name asked for."""


@dataclass(frozen=True)
class Member:
    """One registered worker or scheduler as Redis describes it."""

    name: str
    host: str
    pid: int
    queues: tuple[str, ...]
    silent: float | None  # seconds since its last heartbeat (None: never beat)
    alive: bool

    def describe(self) -> str:
        return f"{self.name} (pid {self.pid or '?'} on {self.host}, last heartbeat {_seconds(self.silent)} ago)"


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.0f} s"


def workers(connection: redis.Redis, every: float, at: datetime | None = None) -> list[Member]:
    """Every registered worker, by name. ``every``: the heartbeat period assumed for a worker
    that does not say its own (one started by ``rq worker``, or by an older release)."""
    at = at or now()
    return sorted((_worker_member(connection, w, every, at) for w in SimpleWorker.all(connection=connection)),
                  key=lambda m: m.name)


def _worker_member(connection: redis.Redis, worker: SimpleWorker, every: float, at: datetime) -> Member:
    promised = connection.hget(worker.key, EVERY_FIELD)
    return _member(worker.name, worker.hostname, worker.pid, worker.queue_names(), worker.last_heartbeat,
                   float(promised) if promised else every, at)


def _member(name, host, pid, queues, last_heartbeat, every: float, at: datetime) -> Member:
    silent = None if last_heartbeat is None else max((at - last_heartbeat).total_seconds(), 0.0)
    return Member(name, host or "?", pid or 0, tuple(queues), silent,
                  alive=silent is not None and silent <= MISSED_BEATS * every)


def clear_dead_namesake(connection: redis.Redis, name: str, every: float) -> Member | None:
    """Make ``name`` free for a worker about to start: a dead worker registered under it (its
    process gone from this host, or silent for :data:`MISSED_BEATS` beats) is marked dead
    as RQ marks a worker that stops (``register_death``); returns it. Raises
    :class:`NameTaken` if the namesake is alive."""
    old = SimpleWorker.find_by_key(SimpleWorker.redis_worker_namespace_prefix + name, connection=connection)
    if old is None or connection.hexists(old.key, "death"):
        return None  # free, or stopped cleanly: RQ lets the name be born again
    found = _worker_member(connection, old, every, now())
    if found.alive and not _gone_from_this_host(found):
        raise NameTaken(f"a worker named {name!r} is running: {found.describe()}")
    old.register_death()
    return found


def _gone_from_this_host(member: Member) -> bool:
    """Its process ran on this host and runs no more. Another host's processes cannot be seen
    from here: only their silence tells."""
    if member.host != socket.gethostname():
        return False
    if member.pid <= 0 or member.pid == os.getpid():
        return True  # this very process took its pid (a restarted container): not it
    try:
        os.kill(member.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # some other user's process has it: alive, for all we can tell
    return False


def schedulers(connection: redis.Redis, queues: tuple[str, ...], every: float,
               at: datetime | None = None) -> dict[str, Member | None]:
    """Per queue, the scheduler that holds RQ's lock for it (None: none does). RQ's scheduler
    beats every second; one silent for :data:`MISSED_BEATS` × ``every`` (the workers' bound)
    is dead, though its lock lives on for RQ's 61 s."""
    at = at or now()
    held = {}
    for queue in queues:
        name = connection.get(RQScheduler.get_locking_key(queue))
        # Read as a plain hash: after Redis restarted empty, a scheduler that lived through it
        # re-takes its lock and beats into a hash holding only last_heartbeat (RQScheduler.fetch
        # raises on that).
        if name is None:
            held[queue] = None
            continue
        data = decode_redis_hash(connection.hgetall(SCHEDULER_KEY_TEMPLATE % name.decode()), decode_values=True)
        beat = data.get("last_heartbeat")
        held[queue] = _member(name.decode(), data.get("hostname"), int(data.get("pid") or 0),
                              tuple(filter(None, data.get("queues", "").split(","))),
                              utcparse(beat) if beat else None, every, at)
    return held


@dataclass(frozen=True)
class Fleet:
    workers: dict[str, int] = field(default_factory=dict)  # queue → workers alive on it
    scheduler_age: dict[str, float] = field(default_factory=dict)  # queue → s since its scheduler beat
    oldest_failed_age: dict[str, float] = field(default_factory=dict)  # queue → s (0: none failed)


def oldest_failed_age(connection: redis.Redis, queue: str, at: datetime) -> float:
    """Seconds since the oldest job in ``queue``'s failed registry failed (0: none)."""
    oldest = FailedJobRegistry(queue, connection=connection).get_job_ids(0, 0)  # by expiry: first failed first
    job = Job.fetch(oldest[0], connection=connection) if oldest and connection.exists(Job.key_for(oldest[0])) else None
    return max((at - job.ended_at).total_seconds(), 0.0) if job is not None and job.ended_at else 0.0


def snapshot(connection: redis.Redis, queues: tuple[str, ...], every: float, at: datetime | None = None) -> Fleet:
    """Workers alive per queue, scheduler heartbeat ages, oldest failed job ages (``/metrics``)."""
    at = at or now()
    alive = [m for m in workers(connection, every, at) if m.alive]
    held = schedulers(connection, queues, every, at)
    return Fleet({q: sum(q in m.queues for m in alive) for q in queues},
                 {q: (m.silent if m is not None and m.silent is not None else math.inf) for q, m in held.items()},
                 {q: oldest_failed_age(connection, q, at) for q in queues})


class Heartbeat:
    """A thread that keeps ``worker``'s registration in Redis while the process lives.

    Every ``every`` seconds it writes RQ's ``last_heartbeat`` field, whatever the job in hand
    (RQ's own main loop writes it only between jobs). A registration Redis lost (restarted
    empty) is written back as RQ writes it at birth, with RQ's time-to-live. The key's
    time-to-live is otherwise RQ's: a killed worker stays listed, silent, and so reported
    dead, until that runs out or a worker restarted under its name clears it
    (:func:`clear_dead_namesake`). Nothing before the worker's own birth (RQ would refuse the
    name), nothing after its death (the ``death`` field RQ writes on a clean stop)."""

    def __init__(self, worker: SimpleWorker, every: float):
        self.worker = worker
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._failing = False

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=max(self.every, 5.0))

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.beat()
                if self._failing:
                    log.info("worker %s: heartbeat written again", self.worker.name)
                self._failing = False
            except redis.RedisError as exc:
                if not self._failing:  # one line per outage, not one per beat
                    log.warning("worker %s: heartbeat not written (%s); retrying every %.0f s",
                                self.worker.name, type(exc).__name__, self.every)
                self._failing = True

    def beat(self) -> None:
        w = self.worker
        if w.birth_date is None:
            return  # not registered yet: RQ's register_birth would refuse a name we had taken
        conn = w.connection
        with conn.pipeline(transaction=False) as p:
            p.exists(w.key)
            p.hexists(w.key, "death")
            p.sismember(w.redis_workers_keys, w.key)
            present, dead, listed = p.execute()
        if dead:
            return  # it stopped (RQ's teardown); do not bring it back
        w.last_heartbeat = now()
        with conn.pipeline() as p:
            if not (present and listed):
                p.hset(w.key, mapping={**w.serialize(), "state": w.get_state()})
                worker_registration.register(w, p)
                p.expire(w.key, w.worker_ttl + 60)  # as RQ's register_birth
            p.hset(w.key, mapping={"last_heartbeat": utcformat(w.last_heartbeat), EVERY_FIELD: str(self.every)})
            p.execute()
        if not (present and listed):
            log.warning("worker %s: its registration was gone from Redis (restarted empty?); registered again",
                        w.name)
