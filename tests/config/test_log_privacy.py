"""No phone number and no secret reaches the logs, whatever form it arrives in.

Every webhook is driven over a real socket (so the development server's access log runs too)
with a number in each form AT or a caller might use, in the form body and in the query string,
while the database fails; everything the product logs, through the real handler, is then
searched for each raw form. The unit tables pin down :func:`config.mask_phone` itself.
"""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
import requests

from config import configure_logging, describe_settings, load_settings, mask_phone
from tests.conftest import DB_PASSWORD, TOKEN, captured_logs

# id -> a number as it might arrive; each form uses different digits, so a leak names its form.
FORMS = {
    "e164": "+27821234567",
    "national": "0831234567",
    "national-spaced": "084 123 4567",
    "bare": "27721234567",
    "kenya": "+254712345678",
    "uk": "+447911123456",
}
# What must never appear: the digits after the country code / trunk prefix.
SIGNIFICANT = {"e164": "821234567", "national": "831234567", "national-spaced": "841234567",
               "bare": "721234567", "kenya": "712345678", "uk": "7911123456"}
ENCODED = "%2B27611234567"  # a query-string form: the plus URL-encoded
ENCODED_SIGNIFICANT = "611234567"


def _forms(phone: str, n: int) -> dict[str, dict]:
    sid = f"ATUid_priv_{n}"
    return {
        "/webhooks/at/ussd": {"sessionId": sid, "serviceCode": "*134*1234#", "phoneNumber": phone, "text": ""},
        "/webhooks/at/ussd/events": {"sessionId": sid, "phoneNumber": phone, "status": "Failed",
                                     "hopsCount": "1", "durationInMillis": "900",
                                     "errorMessage": f"network failure for {phone}"},
        "/webhooks/at/sms": {"from": phone, "to": "31234", "text": f"CENTRE Soweto call me on {phone}",
                             "date": "2026-11-22 10:00:00", "id": f"ATXid_priv_{n}", "linkId": "l1"},
        "/webhooks/at/sms/delivery": {"id": f"ATXid_priv_dlr_{n}", "status": "Failed", "phoneNumber": phone,
                                      "failureReason": "UserIsInactive", "retryCount": "0"},
        "/webhooks/at/sms/optout": {"phoneNumber": phone, "senderId": "THUSONG"},
    }


def _digits_only(text: str) -> str:
    return re.sub(r"[\s\-()]", "", text)


def test_no_number_or_secret_reaches_the_logs_when_every_webhook_fails(rt_without_db):
    from gateway.web import create_app
    from tests.live import serving

    app = create_app(runtime=rt_without_db)
    app.config["TESTING"] = False  # let Flask log a failing view as production does
    with captured_logs() as out, serving(app) as base:
        n = 0
        for phone in [*FORMS.values(), "+27611234567"]:
            for path, form in _forms(phone, n).items():
                n += 1
                query = f"token={TOKEN}&from={quote(phone, safe='')}&msisdn={phone.replace(' ', '+')}"
                requests.post(f"{base}{path}?{query}", data=form, timeout=10)
    logged = out.getvalue()
    assert "Traceback" in logged and "POST /webhooks/at/sms" in logged  # the failures were logged
    assert "+2782****567" in logged  # ... and the numbers in them masked, not dropped
    flat = _digits_only(logged)
    leaks = [name for name, digits in SIGNIFICANT.items() if digits in flat]
    assert not leaks, f"raw numbers in the log: {leaks}\n{logged[-3000:]}"
    assert ENCODED not in logged and ENCODED_SIGNIFICANT not in flat
    assert TOKEN not in logged and DB_PASSWORD not in logged


@pytest.mark.parametrize(
    "text, masked",
    [
        ("+27821234567", "+2782****567"),
        ("0821234567", "082****567"),
        ("082 123 4567", "082****567"),
        ("27821234567", "2782****567"),
        ("call +27 82 123 4567 now", "call +2782****567 now"),
        ("two: +27731112222,+27614445555", "two: +2773****222,+2761****555"),
        ("+254712345678", "+25471****678"),
        ("+447911123456", "+4479*****456"),
        ("+44 20 7946 0958", "+4420*****958"),
        ("from=%2B27821234567&x=1", "from=%2B2782****567&x=1"),
        ("from=%2b254712345678", "from=%2B25471****678"),
        ("[parameters: ('+27821234567', 'CENTRE Soweto')]", "[parameters: ('+2782****567', 'CENTRE Soweto')]"),
        ("session ATUid_27821234567 ended", "session ATUid_2782****567 ended"),
        ("invalid but shaped like one: +27001234567", "invalid but shaped like one: +2700****567"),
        ("id27821234567", "id2782****567"),
        ("caller=sn0821234567x", "caller=sn082****567x"),
        ("msisdn:+27821234567abc", "msisdn:+2782****567abc"),
    ],
    ids=["e164", "national", "national-spaced", "bare", "spaced-e164", "two", "kenya", "uk-mobile",
         "uk-spaced", "url-encoded", "url-encoded-lower", "sql-parameters", "inside-an-id", "invalid-sa",
         "glued-to-letters", "national-glued-both-sides", "e164-glued-after"],
)
def test_mask_phone_masks_every_form(text, masked):
    assert mask_phone(text) == masked


@pytest.mark.parametrize(
    "text, masked",
    [
        ('"POST /webhooks/at/sms?token=s3cr3t&x=1 HTTP/1.1" 200 -', '"POST /webhooks/at/sms?token=***&x=1 HTTP/1.1" 200 -'),
        ("GET /x?token=abc", "GET /x?token=***"),
        ("redis://:hunter2@redis.internal:6379/3", "redis://:***@redis.internal:6379/3"),
        ("postgresql://thusong:pa55@db:5432/thusong", "postgresql://thusong:***@db:5432/thusong"),
        ("postgresql+psycopg://u:p%40ss@db/x and more", "postgresql+psycopg://u:***@db/x and more"),
    ],
    ids=["access-log-token", "token-at-end", "redis-password", "postgres-password", "encoded-password"],
)
def test_mask_phone_redacts_tokens_and_url_passwords(text, masked):
    assert mask_phone(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-29 16:02:59,123 INFO gateway.sms.outbox: sent batch of 100 in 0.0123456789 s",
        "centre 1234 (Maponya Mall Thusong) has 12 services",
        "dial *134*1234# for help; police 10111",
        "ATXid_dlr_0001 delivered; SIM-3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c",
        "connected to 127.0.0.1:5432 and redis://127.0.0.1:6379/3",
        'File "/srv/gateway/ussd.py", line 123, in _answer at 0x7f3a2b1c4d50',
        "request id 123e4567-e89b-12d3-a456-426614174000 took 1701234567890 ns",
        "postgresql://thusong@db:5432/thusong (no password)",
    ],
    ids=["timestamp-and-float", "centre-id", "short-codes", "at-ids", "hosts-and-ports", "traceback-line",
         "uuid-and-long-count", "url-without-password"],
)
def test_mask_phone_leaves_ordinary_text_alone(text):
    assert mask_phone(text) == text


def test_describe_settings_hides_url_passwords():
    s = load_settings({"DATABASE_URL": "postgresql://thusong:pa55word@db:5432/thusong",
                       "REDIS_URL": "redis://:r3dispw@cache:6379/0"})
    rows = {name: value for name, value, _ in describe_settings(s)}
    assert rows["DATABASE_URL"] == "postgresql://thusong:***@db:5432/thusong"
    assert rows["REDIS_URL"] == "redis://:***@cache:6379/0"


def test_thusong_config_hides_url_passwords(monkeypatch):
    from click.testing import CliRunner

    from gateway.cli import main

    monkeypatch.setenv("DATABASE_URL", "postgresql://thusong:pa55word@db:5432/thusong")
    monkeypatch.setenv("REDIS_URL", "redis://:r3dispw@cache:6379/0")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    assert "pa55word" not in result.output and "r3dispw" not in result.output
    assert "DATABASE_URL=postgresql://thusong:***@db:5432/thusong" in result.output


def test_json_lines_are_masked_too():
    import json
    import logging

    with captured_logs("INFO") as out:
        configure_logging("INFO", json_lines=True, stream=out)
        try:
            raise RuntimeError("insert failed for +27821234567\nparameters: ('0821234567',)")
        except RuntimeError:
            logging.getLogger("test.json").exception("sms from %s failed", "+254712345678")
    line = json.loads(out.getvalue().splitlines()[0])
    assert line["msg"] == "sms from +25471****678 failed"
    assert "+2782****567" in line["exc"] and "082****567" in line["exc"]
    assert "821234567" not in out.getvalue()


def test_gunicorns_error_log_goes_through_the_masked_handler():
    import logging

    from config.logging import route_to_root

    gunicorn_log = logging.getLogger("gunicorn.error")
    own = logging.StreamHandler(io.StringIO())
    gunicorn_log.addHandler(own)
    gunicorn_log.propagate = False  # as gunicorn sets it up
    with captured_logs("INFO") as out:
        route_to_root("gunicorn.error")
        gunicorn_log.error("Error handling request %s", f"/webhooks/at/sms?token={TOKEN}&from=%2B27821234567")
    assert own not in gunicorn_log.handlers
    assert "token=***&from=%2B2782****567" in out.getvalue()
