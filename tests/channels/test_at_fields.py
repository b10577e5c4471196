"""Odd values in AT's callbacks, field by field: a field we can do without never refuses the
callback (AT would retry a refused one for 12 hours, failing each time); identifiers that go
back to AT are kept whole; everything stored fits its column (checked on SQLite too, by
:func:`tests.stored_rows.assert_rows_fit`). Also: the optional fields AT sends are stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.store.models import Citizen, Message, PendingDeliveryReport, UssdSessionLog
from tests.conftest import TOKEN
from tests.stored_rows import assert_rows_fit

PHONE = "+27821234567"
BIG = str(2**40)
INT_MAX = 2**31 - 1
LONG_ID = "ATXid_" + "a" * 94  # 100 characters: over the old String(64)


def _post(client, path: str, form: dict):
    resp = client.post(f"/webhooks/at/{path}?token={TOKEN}", data=form)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp


def _one(rt, model, *where):
    with rt.sessions() as s:
        return s.scalar(select(model).where(*where))


# --- inbound SMS ------------------------------------------------------------------------------

SMS = {"from": PHONE, "to": "31234", "text": "HELP", "date": "2026-11-22 10:00:00", "id": "ATXid_in_1",
       "linkId": "link-1", "networkCode": "65501", "cost": "ZAR 0.0000"}

# label, fields changed → what the stored row holds (attribute → value)
INBOUND = [
    ("all-fields-kept", {}, {"sent_to": "31234", "link_id": "link-1", "network_code": "65501",
                             "cost": "ZAR 0.0000", "text": "HELP"}),
    ("nul-in-text", {"text": "HELP\x00me"}, {"text": "HELP\ufffdme"}),
    ("text-emoji", {"text": "Soweto 😀"}, {"text": "Soweto 😀"}),
    ("text-empty", {"text": ""}, {"text": ""}),
    ("text-5000", {"text": "A" * 5000}, {"text": "A" * 2000}),
    ("id-100-kept-whole", {"id": LONG_ID}, {"at_message_id": LONG_ID}),
    ("linkId-100-kept-whole", {"linkId": "L" * 100}, {"link_id": "L" * 100}),
    ("linkId-1000-dropped", {"linkId": "L" * 1000}, {"link_id": None}),
    ("linkId-nul-dropped", {"linkId": "link\x00-1"}, {"link_id": None}),
    ("date-unreadable", {"date": "yesterday"}, {}),
    ("date-nul", {"date": "2026-11-22\x00"}, {}),
    ("date-huge", {"date": "9" * 1000}, {}),
    ("to-missing", {"to": None}, {"sent_to": None}),
    ("to-over-32-dropped", {"to": "3" * 40}, {"sent_to": None}),
    ("networkCode-long", {"networkCode": "6" * 100}, {"network_code": None}),
    ("networkCode-nul", {"networkCode": "655\x0001"}, {"network_code": None}),
    ("cost-long", {"cost": "ZAR " + "9" * 100}, {"cost": None}),
]


@pytest.mark.parametrize("change, expected", [(c, e) for _label, c, e in INBOUND],
                         ids=[label for label, _c, _e in INBOUND])
def test_inbound_sms_with_usable_id_from_text_is_always_stored(rt, client, change, expected):
    form = {k: v for k, v in {**SMS, **change}.items() if v is not None}
    _post(client, "sms", form)
    row = _one(rt, Message, Message.direction == "in")
    assert row is not None and row.phone == PHONE
    assert {name: getattr(row, name) for name in expected} == expected
    assert_rows_fit(rt)


# --- delivery reports ---------------------------------------------------------------------------

DLR = {"id": "ATXid_dlr_1", "status": "Failed", "phoneNumber": PHONE, "networkCode": "65501",
       "failureReason": "DeliveryFailure", "retryCount": "2"}

DELIVERY = [
    ("retryCount-kept", {}, {"retry_count": 2, "failure_reason": "DeliveryFailure"}),
    ("failureReason-100-clamped", {"failureReason": "R" * 100}, {"failure_reason": "R" * 64}),
    ("failureReason-nul", {"failureReason": "Delivery\x00Failure"}, {"failure_reason": "Delivery\ufffdFailure"}),
    ("status-nul", {"status": "Fail\x00ed"}, {"status": "sent"}),  # unknown status word: row unchanged
    ("status-100", {"status": "S" * 100}, {"status": "sent"}),
    ("retryCount-huge", {"retryCount": BIG}, {"retry_count": INT_MAX}),
    ("retryCount-negative", {"retryCount": "-1"}, {"retry_count": None}),
    ("retryCount-float", {"retryCount": "3.0"}, {"retry_count": 3}),
    ("retryCount-nan", {"retryCount": "nan"}, {"retry_count": None}),
    ("retryCount-word", {"retryCount": "two"}, {"retry_count": None}),
    ("phone-garbage", {"phoneNumber": "not-a-number"}, {"retry_count": 2}),
    ("phone-letters", {"phoneNumber": "+2782123XXXX"}, {"retry_count": 2}),
    ("networkCode-long", {"networkCode": "6" * 100}, {"retry_count": 2}),
]


@pytest.mark.parametrize("change, expected", [(c, e) for _label, c, e in DELIVERY],
                         ids=[label for label, _c, _e in DELIVERY])
def test_delivery_report_with_usable_id_and_status_is_applied(rt, client, change, expected):
    with rt.sessions.begin() as s:
        s.add(Message(direction="out", idempotency_key="dlr-test", phone=PHONE, text="hi", queue="replies",
                      status="sent", at_message_id=DLR["id"]))
    _post(client, "sms/delivery", {**DLR, **change})
    row = _one(rt, Message, Message.idempotency_key == "dlr-test")
    expected = {"status": "failed", **expected}
    assert {name: getattr(row, name) for name in expected} == expected
    assert_rows_fit(rt)


def test_delivery_report_with_a_long_id_waits_whole_and_is_matched(rt, client):
    _post(client, "sms/delivery", {**DLR, "id": LONG_ID, "failureReason": "R" * 100, "retryCount": BIG})
    [waiting] = _all(rt, PendingDeliveryReport)
    assert (waiting.at_message_id, waiting.failure_reason, waiting.retry_count) == (LONG_ID, "R" * 64, INT_MAX)
    assert_rows_fit(rt)


def _all(rt, model):
    with rt.sessions() as s:
        return list(s.scalars(select(model)))


# --- USSD end-of-session events -----------------------------------------------------------------

EVENT = {"sessionId": "ATUid_ev_1", "phoneNumber": PHONE, "status": "Incomplete", "hopsCount": "3",
         "durationInMillis": "5300", "networkCode": "65501", "cost": "ZAR 0.0200", "input": "1*2",
         "lastAppResponse": "CON Choose a centre", "errorMessage": ""}

EVENTS = [
    ("all-fields-kept", {}, {"hops": 3, "duration_ms": 5300, "network_code": "65501", "cost": "ZAR 0.0200",
                             "input": "1*2", "last_app_response": "CON Choose a centre", "error": None}),
    ("hops-huge", {"hopsCount": BIG}, {"hops": INT_MAX}),
    ("hops-negative", {"hopsCount": "-4"}, {"hops": None}),
    ("hops-float", {"hopsCount": "1234.0"}, {"hops": 1234}),
    ("hops-fraction", {"hopsCount": "3.5"}, {"hops": None}),
    ("hops-nan", {"hopsCount": "nan"}, {"hops": None}),
    ("hops-inf", {"hopsCount": "inf"}, {"hops": None}),
    ("hops-exponent-absurd", {"hopsCount": "1e999999999"}, {"hops": INT_MAX}),
    ("duration-huge", {"durationInMillis": BIG}, {"duration_ms": INT_MAX}),
    ("duration-float", {"durationInMillis": "1234.0"}, {"duration_ms": 1234}),
    ("duration-nan", {"durationInMillis": "NaN"}, {"duration_ms": None}),
    ("duration-empty", {"durationInMillis": ""}, {"duration_ms": None}),
    ("status-100", {"status": "S" * 100}, {"status": "S" * 32}),
    ("status-nul", {"status": "Succ\x00ess"}, {"status": "Succ\ufffdess"}),
    ("error-nul-long", {"errorMessage": "\x00" * 500}, {"error": "\ufffd" * 200}),
    ("input-nul-long", {"input": "1\x00" * 1000}, {"input": "1\ufffd" * 500}),
    ("lastAppResponse-emoji", {"lastAppResponse": "END 😀"}, {"last_app_response": "END 😀"}),
    ("networkCode-long", {"networkCode": "6" * 100}, {"network_code": None}),
    ("cost-long", {"cost": "ZAR " + "9" * 100}, {"cost": None}),
    ("phone-garbage", {"phoneNumber": "+2782123XXXX"}, {"hops": 3}),
    ("sessionId-100", {"sessionId": "ATUid_" + "s" * 94}, {"hops": 3}),
]


@pytest.mark.parametrize("change, expected", [(c, e) for _label, c, e in EVENTS],
                         ids=[label for label, _c, _e in EVENTS])
def test_ussd_event_with_usable_session_id_is_recorded(rt, client, change, expected):
    form = {**EVENT, **change}
    _post(client, "ussd/events", form)
    row = _one(rt, UssdSessionLog, UssdSessionLog.session_id == form["sessionId"])
    assert {name: getattr(row, name) for name in expected} == expected
    assert_rows_fit(rt)


@pytest.mark.parametrize("session_id", ["ATUid_" + "s" * 300, "ATUid\x00", "   "],
                         ids=["over-255", "nul", "blank"])
def test_ussd_event_without_a_usable_session_id_is_400(rt, client, session_id):
    resp = client.post(f"/webhooks/at/ussd/events?token={TOKEN}", data={**EVENT, "sessionId": session_id})
    assert resp.status_code == 400 and resp.get_json()["field"] == "sessionId"


# --- opt-out ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "sender_id, stored",
    [("THUSONG", "THUSONG"), ("31234", "31234"), (None, None), ("S" * 100, None), ("THU\x00SONG", None)],
    ids=["alphanumeric", "shortcode", "absent", "over-32", "nul"],
)
def test_optout_keeps_the_sender_id(rt, client, sender_id, stored):
    form = {"phoneNumber": PHONE, "senderId": sender_id} if sender_id is not None else {"phoneNumber": PHONE}
    _post(client, "sms/optout", form)
    citizen = _one(rt, Citizen, Citizen.phone == PHONE)
    assert citizen.opted_out and citizen.opt_out_sender_id == stored
    assert_rows_fit(rt)


def test_migrated_schema_matches_the_models(runtime):
    """Migration 0005 widens and adds exactly what the models (sized from the AT limits) declare."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from gateway.store.models import Base

    with runtime.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
