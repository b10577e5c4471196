"""The bulk drainer's lease: one job at a time drains the ``bulk`` queue.

A Redis lock (:data:`BULK_DRAINER`) that lives ``SMS_DRAIN_LEASE_SECONDS`` (10 s), renewed
every quarter of that by a thread of the holding job — not between batches, which a rate-limit
wait or an AT timeout can stretch past any short lease — and only while the job still holds it
(compare-and-set: redis-py's ``Lock.reacquire`` checks the holder's token). Beside it a marker
(:data:`RUNNING`) that only a release removes: the lease gone while the marker stays means the
holder died, and :func:`take_over_if_orphaned` (each worker's timer, every quarter of the
lease) queues a bulk job at once. Another worker drains within about 1¼ leases of the holder's
death (the lease had been ~130 s: bulk stalled that long).

A holder held up past its lease (the renewal finds another's token) sets :attr:`DrainLease.lost`
and its drain stops before the next batch. Claims are conditional UPDATEs, so even two drainers
never send a row twice: exactly-once is the database's, the lease books the rate once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from redis.exceptions import LockError, LockNotOwnedError, RedisError

from gateway import jobs
from gateway.sms.outbox import SEND_JOB_TIMEOUT, kick

log = logging.getLogger(__name__)
BULK_DRAINER = "sms:drain:bulk"  # the lease; its value names the holder: host:pid:random
RUNNING = "sms:drain:bulk:running"  # the holder's token while it drains; removed only by a release
# Removes RUNNING only if it still names this holder (a later holder's marker stays).
_RELEASE_MARKER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class DrainLease:
    """``with``-less on purpose: :meth:`acquire` may fail (another job drains), and the caller
    returns at once then. :meth:`release` stops the renewal and lets go."""

    def __init__(self, rt):
        self.rt = rt
        self.every = rt.settings.SMS_DRAIN_LEASE_SECONDS / 4
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        # thread_local=False: the renewing thread must see the token the draining thread took.
        self._lock = rt.redis.lock(BULK_DRAINER, timeout=rt.settings.SMS_DRAIN_LEASE_SECONDS, blocking=False,
                                   thread_local=False)
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew, name="drain-lease", daemon=True)

    def acquire(self) -> bool:
        if not self._lock.acquire(token=self.token):
            return False
        # The marker outlives any one holder's lease (a job runs at most SEND_JOB_TIMEOUT).
        self.rt.redis.set(RUNNING, self.token, ex=SEND_JOB_TIMEOUT)
        self._renewer.start()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self._lock.reacquire()
            except LockNotOwnedError:
                log.warning("bulk drain lease lost (held up longer than SMS_DRAIN_LEASE_SECONDS): stopping")
                self.lost.set()
                return
            except RedisError as exc:  # Redis away: try again; the lease may lapse meanwhile
                log.warning("bulk drain lease not renewed (%s)", type(exc).__name__)

    def release(self) -> None:
        self._stop.set()
        if self._renewer.is_alive():
            self._renewer.join()
        try:
            self._lock.release()
        except LockError:
            pass  # lapsed: another job may drain already
        try:
            self.rt.redis.eval(_RELEASE_MARKER, 1, RUNNING, self.token)
        except RedisError:
            log.warning("bulk drain marker not removed; the next holder overwrites it")


def take_over_if_orphaned(rt) -> bool:
    """Queue a bulk job if a drain was running and its lease lapsed (its holder died); True
    if one was queued. A job is queued once (the kick flag) however many workers look."""
    running, held = rt.redis.mget(RUNNING, BULK_DRAINER)
    if running is None or held is not None:
        return False
    log.warning("the bulk drainer %s stopped renewing its lease: another worker takes over",
                running.decode(errors="replace"))
    kick(rt, jobs.QUEUE_BULK)
    return True
