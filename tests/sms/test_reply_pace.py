"""Replies keep pace with the account's rate under a burst of inbound SMS: the reply send job
is not starved by the jobs answering them, and concurrent reply send jobs do not book the rate
for the same rows (bench/replies.py measures the whole against the floor)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from gateway import jobs
from gateway.sms import outbox, sending
from gateway.sms.inbound import kick as inbound_kick
from gateway.store.models import Message, as_utc
from tests.fake_at import FakeAT, at_runtime
from tests.sms.test_sms_pipeline import at_env, inbound
from tests.workers import running_workers, wait_quiet


@pytest.mark.slow
def test_one_worker_sends_replies_while_a_burst_of_inbound_sms_is_still_being_answered(seeded, client, settings):
    """One worker, 100 inbound SMS stored before it starts: the drain answering them hands the
    worker to the reply send job between batches, so the first replies leave before the last
    SMS is answered — not after all of them (the rate is spent only while a send job runs)."""
    n = 100  # two of the drain's batches: the hand-over comes between them
    phones = [f"+2784500{i:04d}" for i in range(n)]
    for i, phone in enumerate(phones):
        inbound(client, "HELP", f"ATXid_pace_{i}", phone=phone)
    with FakeAT() as fake, running_workers(settings, count=1, env=at_env(fake)):
        wait_quiet(seeded, timeout=120)
    with seeded.sessions() as s:
        written = [as_utc(at).timestamp() for at in s.scalars(
            select(Message.created_at).where(Message.direction == "out"))]
    assert len(written) == n and sorted(fake.accepted_counts().values()) == [1] * n
    first_sent = min(r.at for r in fake.requests)
    assert first_sent < max(written), (
        f"the first reply left {first_sent - max(written):.2f} s after the last was written")


def test_concurrent_reply_send_jobs_book_the_rate_once_per_reply(rt):
    """Two reply send jobs look at the same 40 queued replies at once: the account's bucket is
    charged 40 segments, not 80 (booked before the claim, the loser's booking was for rows the
    other job sent, and every later reply waited for it)."""
    rate, n, debt = 20.0, 40, 20.0
    with FakeAT() as fake:
        sender_rt = at_runtime(rt, fake, SMS_RATE_PER_SECOND=rate)
        for i in range(n):
            outbox.queue_sms(sender_rt, f"+2784600{i:04d}", f"Reply {i}", key=f"pace:{i}")
        # A bucket in debt (a second of the rate) never refills to its cap meanwhile, so what it
        # was charged is exact: debt + refill − what is left.
        t0 = time.time()
        rt.redis.hset("ratelimit:sms", mapping={"tokens": -debt, "at": t0})
        start = threading.Barrier(2)

        def job() -> None:
            start.wait()
            sending.send_pending(sender_rt, jobs.QUEUE_REPLIES)

        threads = [threading.Thread(target=job) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert sorted(fake.accepted_counts().values()) == [1] * n
    state = rt.redis.hgetall("ratelimit:sms")
    tokens, at = float(state[b"tokens"]), float(state[b"at"])
    charged = -debt + (at - t0) * rate - tokens
    assert charged == pytest.approx(n, abs=0.5), f"charged {charged:.1f} segments for {n} replies"


def test_the_reply_send_job_goes_before_waiting_jobs_that_answer_inbound_sms(rt):
    """A burst keeps drain jobs waiting on the replies queue; the replies' send job is queued in
    front of them, so the first worker free takes it."""
    inbound_kick(rt, force=True)
    inbound_kick(rt, force=True)
    outbox.queue_sms(rt, "+27846010000", "Soweto centre: open 08:00-16:00.", key="pace:front")
    first = rt.queue(jobs.QUEUE_REPLIES).jobs[0]
    assert (first.func_name, list(first.args)) == (jobs.SEND_PENDING, [jobs.QUEUE_REPLIES])
