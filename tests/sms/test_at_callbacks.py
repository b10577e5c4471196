"""Africa's Talking callback variants, ported from AT's documentation, and the SDK outcome table.

- Delivery reports (``/webhooks/at/sms/delivery``): every documented status and failureReason
  against an outbox row; unknown statuses; malformed reports; repeats; reports that beat our own
  write of the send result (PendingDeliveryReport); no regression from a final status.
- Opt-out callback (``/webhooks/at/sms/optout``).
- Inbound ``date`` formats the parser accepts (webhook basics live in test_sms_webhooks.py).
- Classification of what the SDK returns or raises (per-recipient statusCode, HTTP errors,
  timeouts) into the error tree documented in ``gateway.channels.africastalking``.
"""

from __future__ import annotations

import socket
import types
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import func, select

from gateway import jobs
from gateway.channels import africastalking as at
from gateway.sms import consent, outbox, sending
from gateway.store.models import Citizen, Message, PendingDeliveryReport
from tests import fake_at
from tests.conftest import TOKEN
from tests.fake_at import FakeAT

DLR = f"/webhooks/at/sms/delivery?token={TOKEN}"
OPTOUT = f"/webhooks/at/sms/optout?token={TOKEN}"
INBOUND = f"/webhooks/at/sms?token={TOKEN}"
PHONE = "+27821234567"
AT_ID = "ATXid_dlr_0001"

INTERIM = ["Sent", "Submitted", "Buffered"]
FAILED = ["Rejected", "Failed", "AbsentSubscriber", "Expired"]
FAILURE_REASONS = ["InsufficientCredit", "InvalidLinkId", "UserIsInactive", "UserInBlackList",
                   "UserAccountSuspended", "NotNetworkSubscriber", "UserNotSubscribedToProduct",
                   "UserDoesNotExist", "DeliveryFailure"]


# --- helpers ----------------------------------------------------------------------------------

def report(**fields) -> dict:
    """An AT delivery report form; a field given as None is left out."""
    form = {"id": AT_ID, "status": "Success", "phoneNumber": PHONE, "networkCode": "65501",
            "failureReason": "", "retryCount": "0", **fields}
    return {k: v for k, v in form.items() if v is not None}


def out_row(rt, status: str = "sent", at_id: str | None = AT_ID, phone: str = PHONE,
            queue: str = jobs.QUEUE_REPLIES, key: str | None = None) -> int:
    with rt.sessions.begin() as s:
        row = Message(direction="out", idempotency_key=key or f"test:{at_id}:{status}:{queue}", phone=phone,
                      text="Nearest Thusong to Soweto: 1) Maponya Mall Thusong", queue=queue, status=status,
                      at_message_id=at_id, segments=1, encoding="GSM-7")
        s.add(row)
    return row.id


def get(rt, message_id: int) -> Message:
    with rt.sessions() as s:
        return s.get(Message, message_id)


def outbound_count(rt) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(Message).where(Message.direction == "out"))


def pending(rt) -> list[PendingDeliveryReport]:
    with rt.sessions() as s:
        return list(s.scalars(select(PendingDeliveryReport)))


def citizen(rt, phone: str = PHONE) -> Citizen | None:
    with rt.sessions() as s:
        return s.scalar(select(Citizen).where(Citizen.phone == phone))


def post_dlr(client, form: dict):
    resp = client.post(DLR, data=form)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["outcome"]


# --- delivery reports: documented statuses -------------------------------------------------

@pytest.mark.parametrize(
    "at_status, reason, expected_status, expected_reason",
    [(s, "", "sent", None) for s in INTERIM]
    + [("Success", "", "delivered", None)]
    + [(s, "DeliveryFailure", "failed", "DeliveryFailure") for s in FAILED]
    # No failureReason: AT's status word is the reason, not a bare 'Failed'.
    + [(s, None, "failed", s) for s in FAILED],
)
def test_each_documented_status_updates_the_outbox_row(rt, client, at_status, reason, expected_status,
                                                       expected_reason):
    message_id = out_row(rt, status="sent")
    outcome = post_dlr(client, report(status=at_status, failureReason=reason))
    row = get(rt, message_id)
    assert outcome == expected_status
    assert (row.status, row.failure_reason) == (expected_status, expected_reason)
    assert at.DELIVERY_STATUS[at_status] == expected_status


@pytest.mark.parametrize("at_status", ["Failed", "Rejected"])
@pytest.mark.parametrize("reason", FAILURE_REASONS)
def test_every_failure_reason_is_recorded_and_only_blacklist_opts_out(rt, client, at_status, reason):
    message_id = out_row(rt, status="sent")
    before = outbound_count(rt)
    assert post_dlr(client, report(status=at_status, failureReason=reason)) == "failed"
    row = get(rt, message_id)
    assert (row.status, row.failure_reason) == ("failed", reason)
    who = citizen(rt)
    if reason == "UserInBlackList":
        assert who is not None and who.opted_out
    else:
        assert who is None or not who.opted_out
    assert outbound_count(rt) == before  # never a confirmation SMS for what AT told us


@pytest.mark.parametrize("reason", ["UserInBlackList", "UserInBlacklist"])
def test_blacklist_reason_in_either_spelling_opts_out_and_skips_queued_bulk(rt, client, reason):
    out_row(rt, status="sent")
    bulk = out_row(rt, status="queued", at_id=None, queue=jobs.QUEUE_BULK, key="bulk:1")
    reply = out_row(rt, status="queued", at_id=None, queue=jobs.QUEUE_REPLIES, key="reply:1")
    post_dlr(client, report(status="Failed", failureReason=reason))
    assert citizen(rt).opted_out
    assert (get(rt, bulk).status, get(rt, bulk).failure_reason) == ("skipped", "OptedOut")
    assert get(rt, reply).status == "queued"  # replies to the citizen's own requests still go


@pytest.mark.parametrize("at_status", ["Delivered", "Queued", "Pending", "DeliveredToTerminal", "SomethingNew"])
@pytest.mark.parametrize("start", ["sent", "delivered", "failed"])
def test_unknown_status_is_acknowledged_and_changes_nothing(rt, client, at_status, start):
    message_id = out_row(rt, status=start)
    resp = client.post(DLR, data=report(status=at_status))
    assert resp.status_code == 200  # a 5xx would only make AT retry the same report
    assert resp.get_json()["outcome"] == "ignored-unknown-status"
    assert get(rt, message_id).status == start
    assert at.parse_delivery(report(status=at_status)).status == "unknown"


@pytest.mark.parametrize(
    "form, field",
    [
        (report(id=None), "id"),
        (report(id="   "), "id"),
        (report(status=None), "status"),
        (report(status=""), "status"),
        (report(id="ATXid_" + "x" * 300), "id"),
        (report(id="ATXid\x00dlr"), "id"),
        ({}, "status"),
    ],
    ids=["no-id", "blank-id", "no-status", "blank-status", "id-over-255", "id-nul", "empty"],
)
def test_malformed_delivery_report_is_400_naming_the_field(rt, client, form, field):
    message_id = out_row(rt, status="sent")
    resp = client.post(DLR, data=form)
    assert resp.status_code == 400
    assert resp.get_json()["field"] == field
    assert get(rt, message_id).status == "sent" and pending(rt) == []


@pytest.mark.parametrize("missing", ["phoneNumber", "networkCode", "failureReason", "retryCount"])
def test_optional_fields_may_be_absent(rt, client, missing):
    message_id = out_row(rt, status="sent")
    assert post_dlr(client, report(**{missing: None})) == "delivered"
    assert get(rt, message_id).status == "delivered"


@pytest.mark.parametrize(
    "phone",
    ["+27821234567", "27821234567", "0821234567", "082 123 4567"],
)
def test_report_phone_is_normalised(phone):
    assert at.parse_delivery(report(phoneNumber=phone)).phone == PHONE


@pytest.mark.parametrize(
    "at_status, reason, expected",
    [("Success", "", "delivered"), ("Sent", "", "sent"), ("Buffered", "", "sent"),
     ("Failed", "UserInBlackList", "failed"), ("Expired", "", "failed")],
)
def test_repeated_report_is_idempotent(rt, client, at_status, reason, expected):
    message_id = out_row(rt, status="sent")
    before = outbound_count(rt)
    for _ in range(3):
        post_dlr(client, report(status=at_status, failureReason=reason))
    row = get(rt, message_id)
    assert row.status == expected
    assert outbound_count(rt) == before and pending(rt) == []
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Citizen)) == (1 if reason == "UserInBlackList" else 0)


@pytest.mark.parametrize(
    "start, sequence, expected",
    [
        ("delivered", ["Sent"], "delivered"),
        ("delivered", ["Submitted"], "delivered"),
        ("delivered", ["Buffered"], "delivered"),
        ("delivered", ["Failed"], "delivered"),  # a final failure does not undo delivery
        ("delivered", ["Expired"], "delivered"),
        ("failed", ["Sent"], "failed"),
        ("failed", ["Submitted"], "failed"),
        ("failed", ["Buffered"], "failed"),
        ("sent", ["Success", "Sent"], "delivered"),
        ("sent", ["Success", "Buffered", "Failed"], "delivered"),
        ("sent", ["Buffered", "Submitted", "Sent"], "sent"),
        ("sent", ["Failed", "Buffered"], "failed"),
        ("sent", ["Buffered", "Success"], "delivered"),
        ("simulated", ["Success"], "delivered"),
    ],
)
def test_a_late_interim_status_never_regresses_the_row(rt, client, start, sequence, expected):
    message_id = out_row(rt, status=start)
    for at_status in sequence:
        post_dlr(client, report(status=at_status, failureReason="DeliveryFailure" if at_status in FAILED else ""))
    assert get(rt, message_id).status == expected


# --- reports for ids we have not recorded (yet) ---------------------------------------------

@pytest.mark.parametrize(
    "at_status, reason, expected",
    [("Success", "", "delivered"), ("Buffered", "", "sent"), ("Failed", "InsufficientCredit", "failed"),
     ("Rejected", "UserDoesNotExist", "failed"), ("SomethingNew", "", "sent")],
)
def test_report_for_unknown_id_is_stored_and_applied_when_the_send_records_it(
        rt, client, monkeypatch, at_status, reason, expected):
    hex_id = "early" + "0" * 27
    early_id = "ATXid_" + hex_id[:20]  # what the fake AT will answer with
    for _ in range(2):  # AT's retry of the same early report: still one stored report
        assert post_dlr(client, report(id=early_id, status=at_status, failureReason=reason)) == "stored-for-matching"
    [stored] = pending(rt)
    assert (stored.at_message_id, stored.phone, stored.at_status) == (early_id, PHONE, at_status)
    assert stored.status == at.DELIVERY_STATUS.get(at_status, "unknown")

    # The send whose result we record only now: AT (the fake) answers with that same id.
    monkeypatch.setattr(fake_at, "uuid", types.SimpleNamespace(uuid4=lambda: types.SimpleNamespace(hex=hex_id)))
    with FakeAT() as fake:
        sender_rt = _at_runtime(rt, fake)
        message_id = outbox.queue_sms(sender_rt, PHONE, "Nearest Thusong to Soweto", key="early-report")
        sending.send_pending(sender_rt, jobs.QUEUE_REPLIES)
    row = get(rt, message_id)
    assert row.at_message_id == early_id
    assert row.status == expected
    if expected == "failed":
        assert row.failure_reason == reason
    assert pending(rt) == []


def test_blacklist_report_for_unknown_id_opts_out_at_once(rt, client):
    assert post_dlr(client, report(id="ATXid_never_seen", status="Failed",
                                   failureReason="UserInBlackList")) == "stored-for-matching"
    assert citizen(rt).opted_out


def test_report_without_phone_for_unknown_id_is_stored(rt, client):
    assert post_dlr(client, report(id="ATXid_nophone", phoneNumber=None)) == "stored-for-matching"
    [stored] = pending(rt)
    assert stored.phone is None and stored.status == "delivered"


@pytest.mark.parametrize(
    "at_status, reason, expected",
    [("Success", "", "delivered"), ("Sent", "", "sent"), ("Failed", "DeliveryFailure", "failed")],
)
def test_report_with_new_id_settles_an_unknown_send_to_that_number(rt, client, at_status, reason, expected):
    message_id = out_row(rt, status="unknown", at_id=None)
    other = out_row(rt, status="unknown", at_id=None, phone="+27831234567", key="other")
    assert post_dlr(client, report(id="ATXid_from_lost_answer", status=at_status, failureReason=reason)) == expected
    row = get(rt, message_id)
    assert (row.status, row.at_message_id) == (expected, "ATXid_from_lost_answer")
    assert get(rt, other).status == "unknown" and pending(rt) == []


# --- opt-out callback ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw",
    ["+27821234567", "27821234567", "0821234567", "082 123 4567", "+27 82 123 4567", "082-123-4567",
     " +27821234567 "],
)
def test_optout_callback_opts_out_the_normalised_number_without_confirmation(rt, client, raw):
    resp = client.post(OPTOUT, data={"senderId": "THUSONG", "phoneNumber": raw})
    assert resp.status_code == 200
    who = citizen(rt)
    assert who is not None and who.opted_out and who.opted_out_at is not None
    assert outbound_count(rt) == 0  # AT already confirmed to the citizen


@pytest.mark.parametrize(
    "form",
    [{"senderId": "THUSONG"}, {"senderId": "THUSONG", "phoneNumber": ""},
     {"senderId": "THUSONG", "phoneNumber": "not-a-number"}, {"senderId": "THUSONG", "phoneNumber": "0821"}, {}],
    ids=["missing", "blank", "garbage", "too-short", "empty"],
)
def test_optout_without_a_valid_phone_is_400(rt, client, form):
    resp = client.post(OPTOUT, data=form)
    assert resp.status_code == 400 and resp.get_json()["field"] == "phoneNumber"
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Citizen)) == 0


def test_optout_without_sender_id_is_accepted(rt, client):
    assert client.post(OPTOUT, data={"phoneNumber": PHONE}).status_code == 200
    assert citizen(rt).opted_out


def test_optout_repeated_keeps_one_citizen_language_and_skips_queued_bulk(rt, client):
    consent.set_language(rt, PHONE, "zu")
    bulk = out_row(rt, status="queued", at_id=None, queue=jobs.QUEUE_BULK, key="bulk:1")
    reply = out_row(rt, status="queued", at_id=None, queue=jobs.QUEUE_REPLIES, key="reply:1")
    for _ in range(3):
        assert client.post(OPTOUT, data={"senderId": "THUSONG", "phoneNumber": "0821234567"}).status_code == 200
    with rt.sessions() as s:
        [who] = list(s.scalars(select(Citizen)))
    assert (who.phone, who.language, who.opted_out) == (PHONE, "zu", True)
    assert get(rt, bulk).status == "skipped" and get(rt, reply).status == "queued"
    assert outbound_count(rt) == 2


# --- inbound SMS date formats ------------------------------------------------------------------

NOON_UTC = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2026-11-22 10:00:00", NOON_UTC),  # no zone: taken as UTC
        ("2026-11-22T10:00:00", NOON_UTC),
        ("2026-11-22T10:00:00Z", NOON_UTC),
        ("2026-11-22T10:00:00+00:00", NOON_UTC),
        ("2026-11-22T12:00:00+02:00", NOON_UTC),  # SAST
        ("2026-11-22 12:00:00+02:00", NOON_UTC),
        ("2026-11-22T10:00:00.000Z", NOON_UTC),
        ("2026-11-22T10:00:00.123456", NOON_UTC.replace(microsecond=123456)),
        ("2026-11-22 10:00:00.5", NOON_UTC.replace(microsecond=500000)),
        ("22/11/2026 10:00:00", NOON_UTC),
        ("  2026-11-22 10:00:00  ", NOON_UTC),
        ("2026-11-22", datetime(2026, 11, 22, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_inbound_date_formats(raw, expected):
    parsed = at.parse_at_date(raw)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None


@pytest.mark.parametrize("raw", ["yesterday", "11/22/2026 10:00:00", "2026-13-01 00:00:00", "22-11-2026 10h00",
                                 "1763805600", "2026-11-22\x00"])
def test_unreadable_inbound_dates_are_none(raw):
    assert at.parse_at_date(raw) is None  # the SMS is kept with the time we received it


@pytest.mark.parametrize("date", ["22/11/2026 10:00:00", "2026-11-22 12:00:00+02:00", "2026-11-22T10:00:00",
                                  "2026-11-22T10:00:00.000Z"])
def test_inbound_webhook_accepts_more_date_forms(rt, client, date):
    form = {"from": "0821234567", "to": "31234", "text": "HELP", "date": date, "id": f"ATXid_date_{date}",
            "linkId": "l1", "networkCode": "65501"}
    assert client.post(INBOUND, data=form).status_code == 200
    with rt.sessions() as s:
        row = s.scalar(select(Message).where(Message.direction == "in"))
    assert row.phone == PHONE  # a local number is stored in E.164


# --- SDK outcomes: per-recipient statusCode ------------------------------------------------

def _body(*rows, message="Sent to 1/1 Total Cost: ZAR 0.35"):
    return {"SMSMessageData": {"Message": message, "Recipients": list(rows)}}


def _recipient(code, number=PHONE, message_id="ATXid_abc", cost="ZAR 0.3500", status=None):
    return {"statusCode": code, "number": number, "status": status or at.STATUS_NAMES.get(code, "Whatever"),
            "messageId": message_id, "cost": cost}


@pytest.mark.parametrize(
    "code, accepted, retryable, blacklisted",
    [(100, True, False, False), (101, True, False, False), (102, True, False, False)]
    + [(c, False, False, c == 406) for c in (401, 402, 403, 404, 405, 406, 407, 408, 409)]
    + [(c, False, True, False) for c in (500, 501, 502)],
)
def test_recipient_status_code_table(code, accepted, retryable, blacklisted):
    ok = code in (100, 101, 102)
    [result] = at._parse_recipients(_body(_recipient(code, message_id="ATXid_abc" if ok else "None",
                                                     cost="ZAR 0.3500" if ok else "0")), [PHONE])
    assert (result.accepted, result.retryable, result.blacklisted) == (accepted, retryable, blacklisted)
    assert result.status_code == code
    assert result.message_id == ("ATXid_abc" if ok else None)  # AT writes 'None' for no id
    if code in at.STATUS_NAMES:
        assert result.status == at.STATUS_NAMES[code]
    if code in sending.PERMANENT_REASONS:
        assert not accepted and not retryable


def test_status_code_as_string_and_recipient_order():
    a, b, c = "+27821110001", "+27821110002", "+27821110003"
    body = _body(_recipient("406", number=b, message_id="None"), _recipient("101", number=a, message_id="ATXid_a"))
    results = at._parse_recipients(body, [a, b, c])
    assert [r.phone for r in results] == [a, b, c]
    assert [r.status_code for r in results] == [101, 406, None]
    assert results[0].accepted and results[1].blacklisted
    assert not results[2].accepted and not results[2].retryable  # AT did not mention it: not sent


def test_recipients_missing_from_the_answer_carry_ats_message():
    [result] = at._parse_recipients(_body(message="InvalidSenderId"), [PHONE])
    assert (result.status_code, result.status, result.accepted, result.retryable) == (None, "InvalidSenderId",
                                                                                      False, False)


@pytest.mark.parametrize("body", ["<html>502 Bad Gateway</html>", "", None, ["Recipients"]])
def test_an_answer_that_is_not_json_is_an_unknown_outcome(body):
    with pytest.raises(at.UnknownOutcome):
        at._parse_recipients(body, [PHONE])


# --- SDK outcomes: errors -------------------------------------------------------------------

@pytest.mark.parametrize(
    "error_class, retryable",
    [(at.SendError, False), (at.RetryableSendError, True), (at.PermanentSendError, False), (at.UnknownOutcome, False)],
)
def test_error_tree(error_class, retryable):
    assert issubclass(error_class, at.SendError)
    assert error_class.retryable is retryable
    assert error_class("x").retryable is retryable


def _sdk_error(kind: str) -> Exception:
    from africastalking.Service import AfricasTalkingException

    return {
        "bad-number": ValueError("Invalid phone number: 0821234567"),
        "auth": AfricasTalkingException("The supplied authentication is invalid"),
        "not-found": AfricasTalkingException("Not found"),
        "invalid-request": AfricasTalkingException("Invalid senderId"),
        "http-500": AfricasTalkingException("Internal Server Error"),
        "http-502": AfricasTalkingException("<html><title>502 Bad Gateway</title></html>"),
        "http-503": AfricasTalkingException("Service Unavailable"),
        "http-429": AfricasTalkingException("Too Many Requests"),
        "connect-timeout": requests.exceptions.ConnectTimeout("connect timed out"),
        "ssl": requests.exceptions.SSLError("handshake failed"),
        "read-timeout": requests.exceptions.ReadTimeout("read timed out"),
        "dropped": requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer")),
        "chunked": requests.exceptions.ChunkedEncodingError("incomplete read"),
    }[kind]


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("bad-number", at.PermanentSendError),
        ("auth", at.PermanentSendError),
        ("not-found", at.PermanentSendError),
        ("invalid-request", at.PermanentSendError),
        ("http-500", at.RetryableSendError),
        ("http-502", at.RetryableSendError),
        ("http-503", at.RetryableSendError),
        ("http-429", at.RetryableSendError),
        ("connect-timeout", at.RetryableSendError),
        ("ssl", at.RetryableSendError),
        ("read-timeout", at.UnknownOutcome),
        ("dropped", at.UnknownOutcome),
        ("chunked", at.UnknownOutcome),
    ],
)
def test_sdk_exceptions_map_to_the_error_tree(monkeypatch, kind, expected):
    sender = at.AtSender("sandbox", "test-key", "THUSONG", "http://127.0.0.1:9/version1")

    def boom(*args, **kwargs):
        raise _sdk_error(kind)

    monkeypatch.setattr(sender._sms, "send", boom)
    with pytest.raises(at.SendError) as err:
        sender.send("hello", [PHONE])
    assert type(err.value) is expected


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "failure, expected",
    [("500", at.RetryableSendError), ("429", at.RetryableSendError), ("timeout", at.UnknownOutcome),
     ("drop", at.UnknownOutcome), ("refused", at.RetryableSendError)],
)
def test_real_sdk_against_the_fake_at_classifies_failures(failure, expected):
    with FakeAT() as fake:
        fake.sleep_for_timeout = 1.5
        base = fake.base_url
        if failure == "refused":  # nothing left: safe to retry
            base = f"http://127.0.0.1:{_closed_port()}/version1"
        else:
            fake.fail_next(failure)
        sender = at.AtSender("sandbox", "test-key", "THUSONG", base, timeout=(1.0, 0.4))
        with pytest.raises(expected):
            sender.send("Clinic day Friday", [PHONE])


def test_real_sdk_against_the_fake_at_per_recipient_codes():
    numbers = {"+27821110001": 101, "+27821110002": 406, "+27821110003": 403, "+27821110004": 500}
    with FakeAT() as fake:
        fake.status_for.update(numbers)
        results = at.AtSender("sandbox", "test-key", "THUSONG", fake.base_url).send("hi", list(numbers))
    by = {r.phone: r for r in results}
    assert by["+27821110001"].accepted and by["+27821110001"].message_id.startswith("ATXid_")
    assert by["+27821110002"].blacklisted and by["+27821110002"].message_id is None
    assert not by["+27821110003"].accepted and not by["+27821110003"].retryable
    assert by["+27821110004"].retryable


# --- what the outbox does with each per-recipient code -------------------------------------

def _at_runtime(rt, fake: FakeAT):
    return fake_at.at_runtime(rt, fake)


@pytest.mark.parametrize(
    "code, status, reason, opted_out",
    [
        (101, "sent", None, False),
        (403, "failed", "InvalidPhoneNumber", False),
        (405, "retry", "InsufficientBalance", False),  # a citizen's answer waits for the credit
        (406, "failed", "UserInBlacklist", True),
        (500, "retry", "AT statusCode 5xx", False),
        (502, "retry", "AT statusCode 5xx", False),
    ],
)
def test_outbox_records_each_recipient_code(rt, code, status, reason, opted_out):
    with FakeAT() as fake:
        fake.status_for[PHONE] = code
        sender_rt = _at_runtime(rt, fake)
        message_id = outbox.queue_sms(sender_rt, PHONE, "Nearest Thusong to Soweto", key=f"code-{code}")
        sending.send_pending(sender_rt, jobs.QUEUE_REPLIES)
    row = get(rt, message_id)
    assert (row.status, row.failure_reason) == (status, reason)
    if status != "retry":
        assert row.status_code == code
    assert (row.at_message_id is not None) == (code == 101)
    who = citizen(rt)
    assert bool(who and who.opted_out) is opted_out
    assert outbound_count(rt) == 1  # a 406 opt-out is not confirmed by us: the number is blocked
