"""Outbox behaviour that needs no fake AT: job slicing and kick coalescing."""

import dataclasses

from sqlalchemy import select

from gateway import jobs
from gateway.sms import delivery, outbox, sending, sweeper
from gateway.store.models import Message


def _statuses(rt) -> list[str]:
    with rt.sessions() as s:
        return list(s.scalars(select(Message.status).where(Message.direction == "out").order_by(Message.id)))


def test_a_send_job_past_its_slice_hands_over_to_a_fresh_job(rt):
    phones = [f"+2782555{i:04d}" for i in range(3)]
    outbox.queue_bulk(rt, phones, "Clinic day Friday. Reply STOP to opt out", "slice")
    bulk = rt.queue(jobs.QUEUE_BULK)
    bulk.empty()
    assert sending.send_pending(rt, jobs.QUEUE_BULK, slice_seconds=0) == 0
    assert _statuses(rt) == ["queued"] * 3  # nothing claimed, nothing lost
    [job] = bulk.jobs
    assert job.func_name == jobs.SEND_PENDING and job.args == [jobs.QUEUE_BULK]
    assert job.timeout >= sending.SEND_SLICE_SECONDS * 2
    assert sending.send_pending(rt, jobs.QUEUE_BULK) == 3  # the continuation finishes the work
    assert _statuses(rt) == ["simulated"] * 3  # no AT credentials in tests: recorded, not sent


def test_many_replies_queue_one_waiting_send_job(rt):
    replies = rt.queue(jobs.QUEUE_REPLIES)
    for i in range(10):
        outbox.queue_sms(rt, f"+2782666{i:04d}", f"Reply {i}", key=f"coalesce:{i}")
    assert replies.count == 1
    assert sending.send_pending(rt, jobs.QUEUE_REPLIES) == 10
    outbox.queue_sms(rt, "+27826669999", "Later reply", key="coalesce:later")
    assert replies.count == 2  # the flag was cleared when the job started: a new row, a new job


def test_an_early_report_the_sender_missed_is_matched_by_the_sweeper(rt, client):
    from sqlalchemy import func

    from gateway.store.models import PendingDeliveryReport
    from gateway.store.models import utcnow as now
    from tests.conftest import TOKEN

    form = {"id": "ATXid_early_sweep", "status": "Success", "phoneNumber": "+27825550001",
            "networkCode": "65501", "failureReason": "", "retryCount": "0"}
    resp = client.post(f"/webhooks/at/sms/delivery?token={TOKEN}", data=form)
    assert resp.get_json()["outcome"] == "stored-for-matching"
    assert rt.redis.exists(delivery.PENDING_FLAG)  # senders will look for it
    with rt.sessions.begin() as s:  # a send recorded that id without seeing the report
        s.add(Message(direction="out", idempotency_key="early-sweep", phone="+27825550001", text="Hi",
                      queue=jobs.QUEUE_REPLIES, status="sent", at_message_id="ATXid_early_sweep",
                      updated_at=now()))
    result = sweeper.sweep(rt)
    assert result["settled"] == 1
    assert _statuses(rt) == ["delivered"]
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(PendingDeliveryReport)) == 0
    assert not rt.redis.exists(delivery.PENDING_FLAG)  # nothing waits: senders stop looking


def test_a_broadcast_yields_to_a_waiting_reply_between_batches(rt):
    # Yielding is decided between batches, whatever the rate: at the default 20 a second the
    # 205 simulated sends took 9 s of the rate limiter's sleeps.
    rt = dataclasses.replace(rt, settings=rt.settings.with_(SMS_RATE_PER_SECOND=10_000))
    batch = int(rt.settings.SMS_BATCH_SIZE)
    phones = [f"+2782777{i:04d}" for i in range(batch * 2 + 5)]
    outbox.queue_bulk(rt, phones, "Water outage notice. Reply STOP to opt out", "yield")
    bulk, replies = rt.queue(jobs.QUEUE_BULK), rt.queue(jobs.QUEUE_REPLIES)
    bulk.empty()
    outbox.queue_sms(rt, "+27827779999", "Your nearest centre is Maponya Mall Thusong", key="yield:reply")
    assert replies.count == 1  # a citizen's reply is waiting
    assert sending.send_pending(rt, jobs.QUEUE_BULK) == batch  # one batch, then it yields
    assert bulk.count == 1  # the rest of the broadcast goes on in a fresh job
    assert sending.send_pending(rt, jobs.QUEUE_REPLIES) == 1
    replies.empty()
    assert sending.send_pending(rt, jobs.QUEUE_BULK) == batch + 5  # no reply waiting: to the end


def test_a_bulk_row_waiting_to_retry_is_not_sent_after_its_number_opts_out(rt):
    from gateway.sms import consent

    phone = "+27827778888"
    outbox.queue_bulk(rt, [phone], "Clinic day Friday. Reply STOP to opt out", "optout-retry")
    with rt.sessions.begin() as s:  # the first attempt failed and waits out its back-off
        s.execute(Message.__table__.update().values(status="retry", attempts=1, failure_reason="HTTP 500"))
    consent.record_opt_out(rt, phone)  # STOP arrives while it waits
    with rt.sessions.begin() as s:  # the back-off is over
        s.execute(Message.__table__.update().values(status="queued"))
    sending.send_pending(rt, jobs.QUEUE_BULK)
    with rt.sessions() as s:
        row = s.scalar(select(Message))
    assert (row.status, row.failure_reason) == ("skipped", "OptedOut")
