"""Every shape of answer AT (or something in front of it) might send back to a send request,
through the real SDK against the fake AT: each is either per-recipient results or a
:class:`~gateway.channels.africastalking.SendError` subclass, never another exception."""

from __future__ import annotations

import json

import pytest

from gateway.channels import africastalking as at
from tests.fake_at import FakeAT

PHONE = "+27821234567"
JSON = "application/json"


def _answer(*rows, message="Sent to 1/1 Total Cost: ZAR 0.35") -> str:
    return json.dumps({"SMSMessageData": {"Message": message, "Recipients": list(rows)}})


def _row(**fields) -> dict:
    row = {"statusCode": 101, "number": PHONE, "status": "Success", "messageId": "ATXid_ok", "cost": "ZAR 0.3500"}
    return {k: v for k, v in {**row, **fields}.items() if v is not ...}


# label, Content-Type, body → the SendError class (the request left; what AT did is unknown)
UNREADABLE = [
    ("html-200", "text/html", "<html><body>Welcome to nginx</body></html>"),
    ("plain-empty", "text/plain", ""),
    ("json-broken", JSON, '{"SMSMessageData": '),
    ("json-empty-body", JSON, ""),
    ("json-null", JSON, "null"),
    ("json-list", JSON, "[]"),
    ("json-string", JSON, '"Sent"'),
    ("json-number", JSON, "42"),
    ("no-SMSMessageData", JSON, "{}"),
    ("SMSMessageData-null", JSON, '{"SMSMessageData": null}'),
    ("SMSMessageData-string", JSON, '{"SMSMessageData": "Sent"}'),
    ("SMSMessageData-list", JSON, '{"SMSMessageData": []}'),
    ("Recipients-missing", JSON, '{"SMSMessageData": {"Message": "Sent"}}'),
    ("Recipients-null", JSON, '{"SMSMessageData": {"Recipients": null}}'),
    ("Recipients-string", JSON, '{"SMSMessageData": {"Recipients": "+27821234567"}}'),
    ("Recipients-dict", JSON, json.dumps({"SMSMessageData": {"Recipients": _row()}})),
    ("row-string", JSON, _answer(PHONE)),
    ("row-null", JSON, _answer(None)),
    ("row-list", JSON, _answer([101, PHONE])),
    ("row-after-a-good-one", JSON, _answer(_row(), "x")),
    ("statusCode-word", JSON, _answer(_row(statusCode="Success"))),
    ("statusCode-empty", JSON, _answer(_row(statusCode=""))),
    ("statusCode-null", JSON, _answer(_row(statusCode=None))),
    ("statusCode-missing", JSON, _answer(_row(statusCode=...))),
    ("statusCode-fraction", JSON, _answer(_row(statusCode=101.5))),
    ("statusCode-nan", JSON, '{"SMSMessageData": {"Recipients": [{"statusCode": NaN, "number": "+27821234567"}]}}'),
    ("statusCode-infinite", JSON, '{"SMSMessageData": {"Recipients": [{"statusCode": 1e400, "number": "+27821234567"}]}}'),
    ("statusCode-huge", JSON, _answer(_row(statusCode=2**40))),
    ("statusCode-negative", JSON, _answer(_row(statusCode=-101))),
    ("statusCode-bool", JSON, _answer(_row(statusCode=True))),
    ("statusCode-list", JSON, _answer(_row(statusCode=[101]))),
    ("number-missing", JSON, _answer(_row(number=...))),
    ("number-not-text", JSON, _answer(_row(number=27821234567))),
]


@pytest.fixture(scope="module")
def fake():
    with FakeAT() as server:
        yield server


@pytest.mark.parametrize("content_type, body", [(c, b) for _label, c, b in UNREADABLE],
                         ids=[label for label, _c, _b in UNREADABLE])
def test_an_unreadable_answer_is_an_unknown_outcome(fake, content_type, body):
    fake.answer_next(body, content_type)
    sender = at.AtSender("sandbox", "test-key", "THUSONG", fake.base_url, timeout=(1.0, 2.0))
    with pytest.raises(at.SendError) as err:
        sender.send("Clinic day Friday", [PHONE])
    assert type(err.value) is at.UnknownOutcome  # it left: reconcile, never resend at once
    assert not err.value.retryable


# label, one recipient row → (status_code, accepted, message_id, cost)
READABLE = [
    ("code-int", _row(), (101, True, "ATXid_ok", "ZAR 0.3500")),
    ("code-string", _row(statusCode="101"), (101, True, "ATXid_ok", "ZAR 0.3500")),
    ("code-padded-string", _row(statusCode=" 102 "), (102, True, "ATXid_ok", "ZAR 0.3500")),
    ("code-integral-float", _row(statusCode=101.0), (101, True, "ATXid_ok", "ZAR 0.3500")),
    ("code-integral-float-string", _row(statusCode="101.0"), (101, True, "ATXid_ok", "ZAR 0.3500")),
    ("code-undocumented", _row(statusCode=499, messageId="None", cost="0"), (499, False, None, None)),
    ("messageId-None-word", _row(statusCode=406, messageId="None"), (406, False, None, "ZAR 0.3500")),
    ("messageId-number", _row(messageId=12345), (101, True, "12345", "ZAR 0.3500")),
    ("messageId-long", _row(messageId="ATXid_" + "a" * 120), (101, True, "ATXid_" + "a" * 120, "ZAR 0.3500")),
    ("messageId-absurd", _row(messageId="A" * 5000), (101, True, None, "ZAR 0.3500")),
    ("cost-absurd", _row(cost="ZAR " + "9" * 100), (101, True, "ATXid_ok", None)),
    ("cost-number", _row(cost=0.35), (101, True, "ATXid_ok", "0.35")),
    ("status-missing", _row(status=...), (101, True, "ATXid_ok", "ZAR 0.3500")),
]


@pytest.mark.parametrize("row, expected", [(r, e) for _label, r, e in READABLE],
                         ids=[label for label, _r, _e in READABLE])
def test_odd_but_readable_recipient_rows(fake, row, expected):
    fake.answer_next(_answer(row))
    [result] = at.AtSender("sandbox", "test-key", "THUSONG", fake.base_url).send("hi", [PHONE])
    assert (result.status_code, result.accepted, result.message_id, result.cost) == expected
    assert isinstance(result.status, str) and len(result.status) <= at.RECIPIENT_LIMITS["status"]


def test_a_message_that_is_not_text_still_names_the_missing_recipient(fake):
    fake.answer_next(json.dumps({"SMSMessageData": {"Message": 402, "Recipients": []}}))
    [result] = at.AtSender("sandbox", "test-key", "THUSONG", fake.base_url).send("hi", [PHONE])
    assert (result.status_code, result.status, result.accepted) == (None, "402", False)


def test_the_runtimes_sender_keeps_one_connection_for_every_request(rt, fake):
    """The SDK alone opens a new connection per request (module-level ``requests.post``); the
    runtime's sender posts through the runtime's session, so a worker's requests share one."""
    from tests.fake_at import at_runtime

    art = at_runtime(rt, fake)
    try:
        before = len(fake.requests)
        for _ in range(4):
            [result] = art.sms_sender.send("Clinic day Friday", [PHONE], bulk=True)
            assert result.accepted
        assert len({r.peer for r in fake.requests[before:]}) == 1
    finally:
        art.http.close()


@pytest.mark.parametrize("kind", ["drop", "timeout"])
def test_a_kept_connection_lost_mid_request_is_an_unknown_outcome_sent_once(rt, fake, kind):
    """On a kept-alive connection too, a request that may have left is never sent again by the
    transport (it is an unknown outcome), and the next request goes on a fresh connection."""
    from tests.fake_at import at_runtime

    art = at_runtime(rt, fake, AT_TIMEOUT_SECONDS=0.5)
    fake.sleep_for_timeout = 1.0
    try:
        art.sms_sender.send("hi", [PHONE])  # the connection is open
        before = len(fake.requests)
        fake.fail_next(kind)
        with pytest.raises(at.UnknownOutcome):
            art.sms_sender.send("hi", [PHONE])
        assert len(fake.requests) == before + 1
        [result] = art.sms_sender.send("hi", [PHONE])
        assert result.accepted and len(fake.requests) == before + 2
    finally:
        art.http.close()
        fake.sleep_for_timeout = 3.0
