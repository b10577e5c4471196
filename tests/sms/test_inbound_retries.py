"""Inbound SMS whose answer raises, and rows a killed drain left 'processing': tried again a
bounded number of times, then 'failed' with the reason kept, while the other messages are
still answered. The failure is real: a half-edited centre (a latitude, no longitude) makes
every place lookup raise, so ``CENTRE Soweto`` breaks and ``HELP`` does not."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gateway.sms import inbound
from gateway.store.models import Centre, Message
from gateway.store.models import utcnow as now
from tests.conftest import TOKEN, captured_logs
from tests.workers import running_workers, wait_until

BROKEN, FINE = "+27821230001", "+27821230002"


def break_directory(rt) -> None:
    """One centre loses its longitude, as a half-finished staff edit would leave it."""
    with rt.sessions.begin() as s:
        centre_id = s.scalar(select(Centre.id).where(Centre.latitude.is_not(None)).order_by(Centre.id).limit(1))
        s.execute(update(Centre).where(Centre.id == centre_id).values(longitude=None))
    rt.directory.expire()


def send_in(client, text: str, at_id: str, phone: str) -> None:
    resp = client.post(f"/webhooks/at/sms?token={TOKEN}", data={
        "from": phone, "to": "31234", "text": text, "date": "2026-11-22 10:00:00", "id": at_id})
    assert resp.status_code == 200


def row(rt, at_id: str) -> Message:
    with rt.sessions() as s:
        return s.scalar(select(Message).where(Message.at_message_id == at_id))


def replies_to(rt, phone: str) -> list[Message]:
    with rt.sessions() as s:
        return list(s.scalars(select(Message).where(Message.direction == "out", Message.phone == phone)))


def with_settings(rt, **changes):
    return dataclasses.replace(rt, settings=rt.settings.with_(**changes))


def test_an_answer_that_raises_is_retried_then_failed_with_its_reason_and_the_next_is_answered(seeded, client):
    rt = with_settings(seeded, SMS_INBOUND_ATTEMPTS="2")
    break_directory(rt)
    send_in(client, "CENTRE Soweto", "ATXid_poison", BROKEN)
    send_in(client, "HELP", "ATXid_after", FINE)
    with captured_logs("WARNING") as logs:
        assert inbound.drain(rt) == 2
        first = row(rt, "ATXid_poison")
        assert (first.status, first.attempts) == ("received", 1)  # back for another try
        assert first.failure_reason.startswith("TypeError: ")
        assert row(rt, "ATXid_after").status == "processed" and len(replies_to(rt, FINE)) == 1
        assert inbound.drain(rt) == 1
        assert inbound.drain(rt) == 0  # failed rows are not tried again
    last = row(rt, "ATXid_poison")
    assert (last.status, last.attempts) == ("failed", 2) and last.failure_reason.startswith("TypeError: ")
    assert replies_to(rt, BROKEN) == []
    text = logs.getvalue()
    assert f"inbound sms {last.id} failed after 2 attempts" in text and "TypeError" in text
    assert "27821230001" not in text


def test_the_failure_reason_is_clamped_to_its_column():
    reason = inbound.failure_reason(ValueError("x" * 500))
    assert reason.startswith("ValueError: xxx") and len(reason) == Message.failure_reason.type.length


def test_a_row_left_processing_past_the_lease_is_tried_again_until_the_limit(rt, client):
    rt = with_settings(rt, SMS_INBOUND_LEASE_SECONDS="30", SMS_INBOUND_ATTEMPTS="3")
    for at_id in ("ATXid_k1", "ATXid_k2", "ATXid_k3"):
        send_in(client, "HELP", at_id, FINE)
    # Drains claimed them, then were killed: one just now, one past the lease, one past the
    # lease for the third time (the message kills whatever drain answers it).
    for at_id, age, attempts in (("ATXid_k1", 5, 1), ("ATXid_k2", 40, 1), ("ATXid_k3", 40, 3)):
        with rt.sessions.begin() as s:
            s.execute(update(Message).where(Message.at_message_id == at_id).values(
                status="processing", attempts=attempts, updated_at=now() - timedelta(seconds=age)))
    assert inbound.requeue_stale(rt) == 1
    assert row(rt, "ATXid_k1").status == "processing"
    assert row(rt, "ATXid_k2").status == "received"
    gave_up = row(rt, "ATXid_k3")
    assert gave_up.status == "failed" and gave_up.failure_reason.startswith("LeaseExpired")


@pytest.mark.slow
def test_workers_give_up_on_a_poison_message_and_answer_the_next(seeded, client, settings):
    break_directory(seeded)  # worker processes read the same centres from SQL
    env = {"SMS_INBOUND_LEASE_SECONDS": "1", "SMS_INBOUND_ATTEMPTS": "3"}
    with running_workers(settings, env=env, args=("--sweep-every", "0.5")):
        send_in(client, "CENTRE Soweto", "ATXid_w_poison", BROKEN)
        send_in(client, "HELP", "ATXid_w_after", FINE)
        wait_until(lambda: row(seeded, "ATXid_w_poison").status == "failed", timeout=30)
        wait_until(lambda: row(seeded, "ATXid_w_after").status == "processed", timeout=10)
    poison = row(seeded, "ATXid_w_poison")
    assert poison.attempts == 3 and poison.failure_reason.startswith("TypeError: ")
    assert replies_to(seeded, BROKEN) == [] and len(replies_to(seeded, FINE)) == 1


@pytest.mark.slow
def test_workers_answer_a_row_a_killed_drain_left_processing_after_the_configured_lease(rt, client, settings):
    send_in(client, "HELP", "ATXid_orphan", FINE)
    rt.queue("replies").empty()
    rt.redis.delete(inbound.KICK_FLAG)
    with rt.sessions.begin() as s:  # a drain claimed it just now, then was killed
        s.execute(update(Message).where(Message.at_message_id == "ATXid_orphan").values(
            status="processing", attempts=1, updated_at=now()))
    with running_workers(settings, env={"SMS_INBOUND_LEASE_SECONDS": "1"}, args=("--sweep-every", "0.5")):
        wait_until(lambda: row(rt, "ATXid_orphan").status == "processed", timeout=20)
    assert len(replies_to(rt, FINE)) == 1 and row(rt, "ATXid_orphan").attempts == 2
