"""The bulk drainer's lease (gateway/sms/drain_lease.py). Killed mid-broadcast, its holder is
replaced within 15 s and every recipient gets the broadcast exactly once: two real worker
processes, the SDK against the fake AT (delivery reports back to the app), counted when quiet.
Then the lease's own rules against the real Redis: renewed while held, never over another
holder's token, taken over once lapsed, and a drain that lost it stops."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from gateway import jobs
from gateway.sms import drain_lease, outbox, sending
from gateway.sms.drain_lease import DrainLease
from gateway.staff import broadcasts as bc
from gateway.store.models import Message
from tests.broadcasting import add_subscribers, centre_id
from tests.conftest import TOKEN
from tests.fake_at import FakeAT
from tests.live import serving
from tests.sms.test_sms_pipeline import at_env
from tests.staff.test_broadcast_delivery import quiet, send_now
from tests.workers import running_workers, start_worker, wait_until

pytestmark = pytest.mark.slow
BATCH = 20


def drainer(rt, procs):
    """The worker process whose current job is the bulk send that has been draining for a
    second (a bulk job turned away by the lease lasts milliseconds)."""
    for worker in SimpleWorker.all(connection=rt.redis, serializer=JSONSerializer):
        job = worker.get_current_job()
        if (job is not None and job.func_name == jobs.SEND_PENDING and job.args[:1] == [jobs.QUEUE_BULK]
                and job.started_at and datetime.now(UTC) - job.started_at > timedelta(seconds=1)):
            return next((p for p in procs if p.pid == worker.pid), None)
    return None


def test_bulk_goes_on_within_fifteen_seconds_of_its_drainer_being_killed(seeded, app, settings):
    n = 600
    soweto = centre_id(seeded, "Soweto")
    phones = [f"+2776{i:07d}" for i in range(n)]
    add_subscribers(seeded, phones, soweto)
    with serving(app) as base, FakeAT(dlr_url=f"{base}/webhooks/at/sms/delivery?token={TOKEN}") as fake:
        # ~15 s of sending at 40 a second. The sweeper (which kicks bulk when rows wait) once a
        # minute: the takeover must not wait for it. A batch the killed worker had claimed turns
        # 'unknown' after the send lease (30 s) and is settled by its delivery reports or resent
        # once, by a third worker sweeping often.
        env = at_env(fake, SMS_RATE_PER_SECOND="40", SMS_BATCH_SIZE=str(BATCH), SMS_SEND_LEASE_SECONDS="30",
                     SMS_RECONCILE_SECONDS="20", AT_TIMEOUT_SECONDS="5")
        procs = [start_worker(settings, "--sweep-every", "60", env=env, new_session=True) for _ in range(2)]
        try:
            broadcast = send_now(seeded, f"centre:{soweto}", "Water outage in Soweto on Tuesday 10:00-14:00.")
            wait_until(lambda: len(fake.accepted_counts()) >= 100, timeout=60, every=0.05)
            holder = wait_until(lambda: drainer(seeded, procs), timeout=10, every=0.05)
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait()
            killed_at, sent = time.monotonic(), len(fake.accepted_counts())
            assert sent < n - 5 * BATCH, "the kill came too late to test anything"
            # More than the killed worker's last request (one batch) can account for: the
            # other worker is sending. 15 s is the bound the takeover promises.
            wait_until(lambda: len(fake.accepted_counts()) > sent + BATCH, timeout=15, every=0.05)
            took = time.monotonic() - killed_at
            with running_workers(settings, env=env, args=("--sweep-every", "0.5")):
                wait_until(lambda: quiet(seeded, broadcast) and bc.get(seeded, broadcast).status == "sent",
                           timeout=150, every=0.5)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    counts = fake.accepted_counts()
    assert set(counts) == set(phones), f"{n - len(counts)} never sent"
    assert max(counts.values()) == 1, [p for p, c in counts.items() if c > 1][:5]
    assert took <= 15, took


def short(rt, **changes):
    """The runtime with a 1 s drain lease (renewed every 0.25 s)."""
    return dataclasses.replace(rt, settings=rt.settings.with_(SMS_DRAIN_LEASE_SECONDS=1.0, **changes))


def test_the_lease_outlives_its_ttl_while_held_and_is_free_once_released(rt):
    holder = DrainLease(short(rt))
    assert holder.acquire()
    try:
        until = time.monotonic() + 3  # three leases long: kept alive by its renewal alone
        while time.monotonic() < until:
            assert not DrainLease(short(rt)).acquire()
            assert not drain_lease.take_over_if_orphaned(rt)  # held: nothing to take over
            time.sleep(0.1)
        assert not holder.lost.is_set()
    finally:
        holder.release()
    assert rt.redis.get(drain_lease.RUNNING) is None
    again = DrainLease(short(rt))
    assert again.acquire()
    again.release()


def test_a_lapsed_holder_neither_renews_over_nor_unmarks_the_next_holder(rt):
    first = DrainLease(short(rt))
    assert first.acquire()
    # The first holder is held up past its lease; a second one takes it (as after a lapse).
    rt.redis.set(drain_lease.BULK_DRAINER, "next-holder", px=60_000)
    rt.redis.set(drain_lease.RUNNING, "next-holder", ex=600)
    wait_until(first.lost.is_set, timeout=5, every=0.05)  # its renewal saw another's token
    first.release()
    assert rt.redis.get(drain_lease.BULK_DRAINER) == b"next-holder"
    assert rt.redis.get(drain_lease.RUNNING) == b"next-holder"


def test_a_dead_holders_drain_is_taken_over_once_its_lease_lapses(rt):
    rt.redis.set(drain_lease.RUNNING, "dead-holder", ex=600)  # marked running, lease lapsed
    assert drain_lease.take_over_if_orphaned(rt)
    assert rt.queue(jobs.QUEUE_BULK).count == 1
    assert drain_lease.take_over_if_orphaned(rt) and rt.queue(jobs.QUEUE_BULK).count == 1  # queued once


def test_a_drain_that_lost_its_lease_stops_before_its_next_batch(rt):
    fast = short(rt, SMS_RATE_PER_SECOND=20.0, SMS_BATCH_SIZE=10.0)
    outbox.queue_bulk(fast, [f"+2776{i:07d}" for i in range(200)], "Clinic day moved to Thursday.", "lost")
    done = []
    drain = threading.Thread(target=lambda: done.append(sending.send_pending(fast, jobs.QUEUE_BULK)))
    drain.start()
    wait_until(lambda: _count(rt, "simulated") >= 20, timeout=30, every=0.05)
    rt.redis.set(drain_lease.BULK_DRAINER, "thief", px=60_000)  # another job holds it now
    drain.join(timeout=10)
    assert not drain.is_alive() and done
    assert _count(rt, "queued") > 100, "it drained on without the lease"
    assert rt.redis.get(drain_lease.BULK_DRAINER) == b"thief"


def _count(rt, status: str) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(Message).where(Message.status == status))
