"""Replies have their own share of the account's send rate: a citizen's answer does not queue
behind a broadcast that is draining at the rate limit. Real worker processes, real Redis and
SQL, the official SDK against the local fake AT."""

from __future__ import annotations

import time

import pytest

from gateway import jobs
from gateway.sms import outbox
from tests.fake_at import FakeAT
from tests.sms.test_sms_pipeline import at_env
from tests.workers import running_workers, wait_quiet, wait_until

pytestmark = pytest.mark.slow
RATE = 50  # segments a second for the whole account
BATCH = 100  # a bulk batch is two seconds of the account's rate


def _reply_latencies(fake: FakeAT, queued_at: dict[str, float]) -> dict[str, float]:
    """Seconds from queueing each reply to its request reaching the fake (accepted only)."""
    seen: dict[str, float] = {}
    for r in list(fake.requests):
        for phone in r.accepted:
            if phone in queued_at and phone not in seen:
                seen[phone] = r.at - queued_at[phone]
    return seen


def test_replies_queued_mid_broadcast_do_not_wait_for_the_broadcasts_rate(seeded, settings):
    n = 300  # six seconds of sending at the account's whole rate
    bulk = [f"+2771{i:07d}" for i in range(n)]
    citizens = [f"+2782{i:07d}" for i in range(5)]
    with FakeAT() as fake:
        env = at_env(fake, SMS_RATE_PER_SECOND=str(RATE), SMS_BATCH_SIZE=str(BATCH), AT_TIMEOUT_SECONDS="9",
                     SMS_SEND_LEASE_SECONDS="60", SMS_RECONCILE_SECONDS="120")
        with running_workers(settings, count=2, env=env):
            outbox.queue_bulk(seeded, bulk, "Clinic closed Friday.", "reply-share")
            # Right after a bulk batch leaves, the broadcast holds the next batch's worth of
            # the rate (two seconds of it): with one shared bucket a reply waits that long.
            wait_until(lambda: len(fake.accepted_counts()) >= BATCH, timeout=60, every=0.02)
            queued_at: dict[str, float] = {}
            for i, phone in enumerate(citizens):
                queued_at[phone] = time.time()
                outbox.queue_sms(seeded, phone, f"Soweto centre: open 08:00-16:00 ({i}).", f"reply-share:{i}",
                                 queue=jobs.QUEUE_REPLIES)
            latencies = wait_until(lambda: (lambda got: got if len(got) == len(citizens) else None)(
                _reply_latencies(fake, queued_at)), timeout=30, every=0.02)
            assert len(fake.accepted_counts()) < n, "the broadcast was over before the replies: nothing tested"
            wait_quiet(seeded, timeout=60)
    counts = fake.accepted_counts()
    assert set(counts) == set(bulk) | set(citizens) and set(counts.values()) == {1}
    # The reserved share (a quarter of 50/s) has tokens for five one-segment replies at once;
    # in one shared bucket they waited behind the broadcast's booked batch: 4 s seen.
    assert max(latencies.values()) < 1.0, sorted(latencies.values())
    # The broadcast still had the whole rate: batches 2 s apart. (Two bulk jobs — the sweeper
    # queues one whenever rows wait — each booked the same batch: 4 s apart, 8 s in all.)
    bulk_times = sorted(r.at for r in fake.requests if set(r.accepted) & set(bulk))
    spacing = [(round(r.at - bulk_times[0], 2), len(r.accepted)) for r in fake.requests]
    assert bulk_times[-1] - bulk_times[0] < (n - BATCH) / RATE * 1.25, spacing
    # …and no faster than the rate: after the first batch, the rest needed (n − BATCH) tokens,
    # of which at most a burst (one second's worth) could have been saved up. A limiter
    # switched off or counting double sends them sooner.
    assert bulk_times[-1] - bulk_times[0] >= (n - BATCH - RATE) / RATE, spacing


def test_with_one_worker_a_reply_goes_before_the_broadcasts_last_batch(seeded, settings):
    """One worker (a small deployment): a reply queued while a broadcast drains is sent before
    the broadcast's last batch — the drainer hands the worker to the replies queue — not after."""
    n, batch = 300, 50  # six batches, a second each at the account's rate
    bulk = [f"+2772{i:07d}" for i in range(n)]
    citizen = "+27831230000"
    with FakeAT() as fake:
        env = at_env(fake, SMS_RATE_PER_SECOND=str(RATE), SMS_BATCH_SIZE=str(batch), AT_TIMEOUT_SECONDS="9",
                     SMS_SEND_LEASE_SECONDS="60", SMS_RECONCILE_SECONDS="120")
        with running_workers(settings, count=1, env=env):
            outbox.queue_bulk(seeded, bulk, "Clinic closed Friday.", "one-worker")
            wait_until(lambda: len(fake.accepted_counts()) >= batch, timeout=60, every=0.02)
            outbox.queue_sms(seeded, citizen, "Soweto centre: open 08:00-16:00.", "one-worker:reply",
                             queue=jobs.QUEUE_REPLIES)
            wait_quiet(seeded, timeout=60)
    counts = fake.accepted_counts()
    assert set(counts) == set(bulk) | {citizen} and set(counts.values()) == {1}
    reply_at = min(r.at for r in fake.requests if citizen in r.accepted)
    last_bulk_at = max(r.at for r in fake.requests if set(r.accepted) & set(bulk))
    assert reply_at < last_bulk_at, [(round(r.at - reply_at, 2), len(r.accepted)) for r in fake.requests]
