"""What a restore (or a Redis that lost its data) costs the outbox: nothing. Queued RQ jobs
live only in Redis; the rows they were for are in the database, and the sweeper queues jobs
for them again (docs/operating.md, "What Redis holds")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from gateway import jobs
from gateway.sms import outbox
from gateway.store.models import Message, utcnow
from tests.workers import start_worker

PHONES = [f"+2782555{i:04d}" for i in range(30)]


@pytest.mark.slow
def test_queued_replies_and_an_unanswered_sms_survive_an_empty_redis(seeded, client, settings):
    for i, phone in enumerate(PHONES):
        outbox.queue_sms(seeded, phone, "Your nearest centre is Maponya Mall", key=f"lost-{i}")
    assert client.post("/webhooks/at/sms?token=test-webhook-token", data={
        "from": "+27821234567", "to": "12345", "text": "CENTRE Soweto", "date": "2026-01-01 10:00:00",
        "id": "lost-in", "linkId": "", "networkCode": "65501"}).status_code == 200
    assert seeded.queue(jobs.QUEUE_REPLIES).count > 0
    seeded.redis.flushdb()  # every queued job gone, as after a restore onto a new Redis
    assert seeded.queue(jobs.QUEUE_REPLIES).count == 0

    # A worker's sweep (the one it queues at start; then every --sweep-every) finds the rows:
    # outbound at once, inbound once it waited longer than SMS_INBOUND_LEASE_SECONDS (60). The
    # SMS has waited two minutes (the outage); a 1 s lease left it to chance whether the burst
    # worker's one sweep came a second after the webhook (it did not on an idle machine).
    with seeded.sessions.begin() as s:
        s.execute(update(Message).where(Message.direction == "in").values(updated_at=utcnow() - timedelta(minutes=2)))
    worker = start_worker(settings, "--burst")
    assert worker.wait(60) == 0

    with seeded.sessions() as s:
        statuses = dict(s.execute(select(Message.status, func.count()).group_by(Message.status)).all())
        sent_per_phone = s.execute(select(Message.phone, func.count()).where(
            Message.direction == "out", Message.phone.in_(PHONES)).group_by(Message.phone)).all()
        inbound = s.scalar(select(Message.status).where(Message.direction == "in"))
    assert sorted(n for _p, n in sent_per_phone) == [1] * len(PHONES)
    assert inbound == "processed"
    assert statuses == {"simulated": len(PHONES) + 1, "processed": 1}  # the reply to CENTRE too

