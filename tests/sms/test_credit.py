"""AT's 405 (InsufficientBalance): bulk pauses with its rows kept queued, an operator sees it
(log, /metrics), replies keep trying, and sending resumes by itself once AT accepts again."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from gateway import jobs
from gateway.clock import FrozenClock
from gateway.sms import credit, outbox, sending
from gateway.store.models import Message
from gateway.web import create_app
from tests.conftest import TOKEN, captured_logs
from tests.fake_at import FakeAT, at_runtime
from tests.workers import running_workers, wait_quiet, wait_until

CITIZEN = "+27829990001"


def statuses(rt, queue: str | None = None) -> dict[str, int]:
    where = [Message.direction == "out"] + ([Message.queue == queue] if queue else [])
    with rt.sessions() as s:
        return dict(s.execute(select(Message.status, func.count()).where(*where).group_by(Message.status)).all())


def scrape(rt) -> str:
    app = create_app(runtime=rt)
    app.config["TESTING"] = True
    return app.test_client().get("/metrics").get_data(as_text=True)


def metric(text: str, name: str) -> float:
    return next(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " "))


def test_out_of_credit_holds_bulk_queued_until_a_probe_finds_credit(rt):
    phones = [f"+2774000{i:04d}" for i in range(5)]
    clock = FrozenClock(datetime.now(UTC))
    with FakeAT() as fake:
        fake.answer_everyone(405)
        srt = dataclasses.replace(at_runtime(rt, fake, SMS_CREDIT_PROBE_SECONDS=60, SMS_BATCH_SIZE=2), clock=clock)
        outbox.queue_bulk(srt, phones, "Clinic day Friday. Reply STOP to opt out", "credit-bc")
        with captured_logs("INFO") as logs:
            sending.send_pending(srt, jobs.QUEUE_BULK)
        assert statuses(rt) == {"queued": 5}  # not failed: they wait for the credit
        assert len(fake.requests) == 1  # one batch met the 405; the rest were held
        assert "insufficient balance" in logs.getvalue().lower() and "paused" in logs.getvalue()
        assert CITIZEN not in logs.getvalue()
        state = credit.state(srt)
        assert state.paused and state.probe_at == clock.now().timestamp() + 60
        page = scrape(srt)
        assert metric(page, "thusong_sms_credit_paused") == 1
        assert metric(page, "thusong_sms_insufficient_balance_total") == 2  # two recipients refused

        assert sending.send_pending(srt, jobs.QUEUE_BULK) == 0 and len(fake.requests) == 1  # held

        clock.advance(61)  # the probe: one batch, still no credit, held again
        sending.send_pending(srt, jobs.QUEUE_BULK)
        assert len(fake.requests) == 2 and statuses(rt) == {"queued": 5}
        assert credit.state(srt).paused

        fake.answer_everyone(None)  # topped up: the next probe goes through and the rest follows
        clock.advance(61)
        with captured_logs("INFO") as logs:
            sending.send_pending(srt, jobs.QUEUE_BULK)
        assert "resumed" in logs.getvalue()
    assert statuses(rt) == {"sent": 5}
    assert all(fake.sent_to(p) == 1 for p in phones)
    assert not credit.state(srt).paused and metric(scrape(srt), "thusong_sms_credit_paused") == 0


def test_a_reply_that_meets_405_waits_to_retry_and_pauses_bulk(rt):
    with FakeAT() as fake:
        fake.answer_everyone(405)
        srt = at_runtime(rt, fake)
        outbox.queue_sms(srt, CITIZEN, "Your nearest centre is Maponya Mall", key="credit-reply")
        sending.send_pending(srt, jobs.QUEUE_REPLIES)
    with rt.sessions() as s:
        row = s.scalar(select(Message).where(Message.idempotency_key == "credit-reply"))
    assert (row.status, row.failure_reason) == ("retry", "InsufficientBalance")
    assert credit.state(rt).paused
    assert credit.last_error(rt)["kind"] == "InsufficientBalance"


def at_env(fake: FakeAT, **extra) -> dict:
    return {"AT_USERNAME": "sandbox", "AT_API_KEY": "test-key", "AT_SENDER_ID": "THUSONG",
            "AT_API_URL": fake.base_url, "SMS_RATE_PER_SECOND": "5000", "AT_TIMEOUT_SECONDS": "1", **extra}


@pytest.mark.slow
def test_three_workers_hold_bulk_while_out_of_credit_then_send_each_row_once(seeded, client, settings):
    n = 60
    phones = [f"+2774100{i:04d}" for i in range(n)]
    with FakeAT() as fake:
        fake.answer_everyone(405)
        env = at_env(fake, SMS_CREDIT_PROBE_SECONDS="1", SMS_BATCH_SIZE="10")
        with running_workers(settings, 3, env=env, args=("--sweep-every", "0.5")):
            outbox.queue_bulk(seeded, phones, "Home Affairs mobile unit Tuesday. Reply STOP to opt out", "credit-e2e")
            wait_until(lambda: credit.state(seeded).paused)
            assert client.post(f"/webhooks/at/sms?token={TOKEN}", data={
                "from": CITIZEN, "to": "31234", "text": "CENTRE soweto", "date": "2026-11-22 10:00:00",
                "id": "ATXid_credit_1"}).status_code == 200
            # The reply is tried while bulk is held, and waits to retry instead of failing.
            wait_until(lambda: statuses(seeded, jobs.QUEUE_REPLIES).get("retry"))
            paused_at = len(fake.requests)
            wait_until(lambda: sum(r.form.get("enqueue") == "1" for r in fake.requests[paused_at:]) >= 2,
                       timeout=20)  # probes keep coming, one batch at a time
            held = statuses(seeded, jobs.QUEUE_BULK)
            assert set(held) <= {"queued", "sending"} and held.get("queued", 0) >= n - 10, held
            assert metric(scrape(seeded), "thusong_sms_credit_paused") == 1
            fake.answer_everyone(None)
            wait_quiet(seeded, timeout=60)
    assert statuses(seeded) == {"sent": n + 1}
    counts = fake.accepted_counts()
    assert all(counts[p] == 1 for p in phones) and counts[CITIZEN] == 1
    assert not credit.state(seeded).paused
    accepted_bulk = [i for i, r in enumerate(fake.requests) if r.accepted and r.form.get("enqueue") == "1"]
    reply = next(i for i, r in enumerate(fake.requests) if CITIZEN in r.accepted)
    assert reply < accepted_bulk[-1], "the citizen's reply went before the broadcast's rest"
