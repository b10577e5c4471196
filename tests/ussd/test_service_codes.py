"""USSD_SERVICE_CODE lists the codes we serve (the first is the one help texts show); a hop
for any other ``serviceCode`` ends politely in the caller's language, is logged, and is
never served. Through the real webhook, real Redis and SQL."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from config import ConfigError, load_settings
from gateway.channels.africastalking import InboundSms
from gateway.sms import consent, inbound
from gateway.store.models import Message
from gateway.web import create_app
from menus.catalogue import Catalogues
from menus.segments import measure
from tests.conftest import TOKEN, captured_logs

CODES = "*134*1234#, *120*8888#"
FIRST, SECOND = "*134*1234#", "*120*8888#"
PHONE = "+27821234567"
CATS = Catalogues.load()


@pytest.mark.parametrize(
    "raw, codes",
    [
        ("*134*1234#", ("*134*1234#",)),
        ("*134*1234#,*120*8888#", ("*134*1234#", "*120*8888#")),
        (" *134*1234# , *120*8888# ", ("*134*1234#", "*120*8888#")),
        ("*120*3232*1#", ("*120*3232*1#",)),
    ],
    ids=["one", "two", "spaces", "sub-code"],
)
def test_service_codes_are_a_comma_separated_list(raw, codes):
    assert load_settings({"USSD_SERVICE_CODE": raw}).ussd_service_codes == codes


@pytest.mark.parametrize(
    "raw",
    ["", " , ", "134*1234#", "*134*1234", "*134*12a4#", "*134*1234#,12345", "*134*1234# *120*8888#"],
    ids=["empty", "only-commas", "no-star", "no-hash", "letter", "second-bad", "space-not-comma"],
)
def test_a_code_that_is_no_ussd_code_is_refused_at_start(raw):
    with pytest.raises(ConfigError, match="USSD_SERVICE_CODE"):
        load_settings({"USSD_SERVICE_CODE": raw})


@pytest.fixture
def two_codes(rt):
    return dataclasses.replace(rt, settings=rt.settings.with_(USSD_SERVICE_CODE=CODES))


@pytest.fixture
def two_code_client(two_codes):
    app = create_app(runtime=two_codes)
    app.config["TESTING"] = True
    return app.test_client()


def hop(client, service_code: str, session: str = "ATUid_code_1"):
    resp = client.post(f"/webhooks/at/ussd?token={TOKEN}", data={
        "sessionId": session, "serviceCode": service_code, "phoneNumber": PHONE,
        "networkCode": "65501", "text": ""})
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    return resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "service_code, served",
    [(FIRST, True), (SECOND, True), ("*120*9999#", False), ("", False), (f"  {SECOND} ", True),
     ("*120*8888", False), (CODES, False)],
    ids=["listed-first", "listed-second", "unlisted", "empty", "with-spaces", "no-hash", "the-whole-list"],
)
def test_only_listed_codes_are_served(seeded, two_codes, two_code_client, service_code, served):
    with captured_logs("WARNING") as logs:
        body = hop(two_code_client, service_code)
    if served:
        assert body.startswith("CON " + CATS.text("en", "main.title"))
        assert "not served" not in logs.getvalue()
        return
    assert body == "END " + CATS.text("en", "ussd.other_code", code=FIRST)
    line = logs.getvalue()
    assert "WARNING" in line and "not served" in line and repr(service_code.strip()) in line
    assert "821234567" not in line  # the number masked
    assert two_codes.redis.keys("ussd:*") == []  # no session: never served


@pytest.mark.parametrize("lang", ["zu", "af", "ve"])
def test_the_refusal_is_in_the_callers_language(seeded, two_code_client, lang):
    consent.set_language(seeded, PHONE, lang)
    assert hop(two_code_client, "*120*9999#") == "END " + CATS.text(lang, "ussd.other_code", code=FIRST)


def test_every_language_has_a_short_gsm7_refusal():
    for code in CATS.codes:
        text = CATS.text(code, "ussd.other_code", code="*120*3232*1234#")
        assert "ussd.other_code" in CATS.by_code[code].strings, code
        size = measure(text)
        assert size.encoding == "GSM-7" and size.units <= 80, (code, text)


def test_help_texts_show_the_first_code(seeded, two_codes):
    assert inbound.store(two_codes, InboundSms("ATXid_help_codes", PHONE, "31234", "HELP", None, None, None))
    with two_codes.sessions() as s:
        message_id = s.scalar(select(Message.id).where(Message.at_message_id == "ATXid_help_codes"))
    inbound.process(two_codes, message_id)
    with two_codes.sessions() as s:
        [reply] = s.scalars(select(Message.text).where(Message.direction == "out"))
    assert FIRST in reply and SECOND not in reply


def test_the_simulator_dials_the_first_code(seeded, two_code_client):
    page = two_code_client.get("/simulator/").get_data(as_text=True)
    assert FIRST in page and SECOND not in page
    resp = two_code_client.post("/simulator/ussd", json={"phone": "0821234567", "text": ""})
    assert resp.get_json()["reply"].startswith(CATS.text("en", "main.title")) and not resp.get_json()["end"]
