"""Inbound SMS, delivery-report and opt-out webhooks: validation and store-before-200."""

import pytest
from sqlalchemy import func, select

from gateway.store.models import Message
from tests.conftest import TOKEN

SMS = {"from": "+27821234567", "to": "31234", "text": "CENTRE Soweto", "date": "2026-11-22 10:00:00",
       "id": "ATXid_in_1", "linkId": "link-1", "networkCode": "65501"}


def _inbound(rt):
    with rt.sessions() as s:
        return list(s.scalars(select(Message).where(Message.direction == "in")))


@pytest.mark.parametrize("path", ["/webhooks/at/sms", "/webhooks/at/sms/delivery", "/webhooks/at/sms/optout",
                                  "/webhooks/at/ussd/events"])
@pytest.mark.parametrize("query", ["", "?token=nope"])
def test_every_webhook_needs_the_token(client, path, query):
    assert client.post(path + query, data=SMS).status_code == 403


def test_inbound_sms_is_stored_before_200_and_queued(rt, client):
    resp = client.post(f"/webhooks/at/sms?token={TOKEN}", data=SMS)
    assert resp.status_code == 200 and resp.get_json()["duplicate"] is False
    [row] = _inbound(rt)
    assert (row.phone, row.text, row.at_message_id, row.status) == ("+27821234567", "CENTRE Soweto", "ATXid_in_1", "received")
    assert rt.queue("replies").count == 1


def test_same_at_id_three_times_is_one_row_one_job(rt, client):
    for _ in range(3):
        assert client.post(f"/webhooks/at/sms?token={TOKEN}", data=SMS).status_code == 200
    assert len(_inbound(rt)) == 1
    assert rt.queue("replies").count == 1


@pytest.mark.parametrize(
    "form, field",
    [
        ({k: v for k, v in SMS.items() if k != "from"}, "from"),
        ({k: v for k, v in SMS.items() if k != "id"}, "id"),
        ({k: v for k, v in SMS.items() if k != "text"}, "text"),
        ({**SMS, "from": "not-a-number"}, "from"),
        ({**SMS, "from": "+2782123XXXX"}, "from"),
        ({**SMS, "id": "ATXid_" + "x" * 300}, "id"),
        ({**SMS, "id": "ATXid\x00in"}, "id"),
    ],
    ids=["no-from", "no-id", "no-text", "from-words", "from-letters", "id-over-255", "id-nul"],
)
def test_malformed_inbound_is_400_naming_the_field(rt, client, form, field):
    resp = client.post(f"/webhooks/at/sms?token={TOKEN}", data=form)
    assert resp.status_code == 400 and resp.get_json()["field"] == field
    assert _inbound(rt) == []


@pytest.mark.parametrize("date", ["2026-11-22 10:00:00", "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.123+02:00", ""])
def test_inbound_date_variants_are_accepted(rt, client, date):
    assert client.post(f"/webhooks/at/sms?token={TOKEN}", data={**SMS, "date": date}).status_code == 200


def test_inbound_is_stored_even_when_redis_is_down(settings, runtime):
    from gateway.runtime import Runtime
    from gateway.web import create_app

    rt = Runtime.from_settings(settings.with_(REDIS_URL="redis://127.0.0.1:1/0"))
    try:
        client = create_app(runtime=rt).test_client()
        resp = client.post(f"/webhooks/at/sms?token={TOKEN}", data={**SMS, "id": "ATXid_noredis"})
        assert resp.status_code == 200
        with rt.sessions() as s:
            n = s.scalar(select(func.count()).select_from(Message).where(Message.at_message_id == "ATXid_noredis"))
        assert n == 1
    finally:
        rt.close()


def test_a_burst_of_inbound_sms_queues_one_drain_job(rt, client):
    for i in range(20):
        assert client.post(f"/webhooks/at/sms?token={TOKEN}", data={**SMS, "id": f"ATXid_burst_{i}"}).status_code == 200
    assert len(_inbound(rt)) == 20
    assert rt.queue("replies").count == 1  # one waiting job drains them all


def test_rows_a_killed_worker_left_processing_are_answered_again(rt, client):
    from datetime import timedelta

    from sqlalchemy import update

    from gateway.sms import inbound
    from gateway.store.models import utcnow

    client.post(f"/webhooks/at/sms?token={TOKEN}", data=SMS)
    rt.queue("replies").empty()
    rt.redis.delete(inbound.KICK_FLAG)
    [row] = _inbound(rt)
    with rt.sessions.begin() as s:  # a worker claimed it, then died
        s.execute(update(Message).where(Message.id == row.id).values(
            status="processing", updated_at=utcnow() - timedelta(minutes=6), created_at=utcnow() - timedelta(minutes=6)))
    assert inbound.requeue_stale(rt) == 1
    [row] = _inbound(rt)
    assert row.status == "received" and rt.queue("replies").count == 1


def test_a_drain_past_its_slice_hands_over_to_a_fresh_job(rt, client):
    from gateway.sms import inbound

    client.post(f"/webhooks/at/sms?token={TOKEN}", data=SMS)
    replies = rt.queue("replies")
    replies.empty()
    assert inbound.drain(rt, slice_seconds=0) == 0
    [row] = _inbound(rt)
    assert row.status == "received" and replies.count == 1  # untouched, continuation queued
    assert inbound.drain(rt) == 1
    [row] = _inbound(rt)
    assert row.status == "processed"
