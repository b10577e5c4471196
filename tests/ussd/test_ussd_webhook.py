"""The USSD webhook's contract with AT: token, malformed requests, CON/END always, retries,
Redis outages."""

import time

import pytest
from flask import request
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from gateway.channels import africastalking as at
from gateway.web import webhooks
from tests.conftest import TOKEN
from tests.dialer import Dialer, assert_screen
from tests.redis_process import RedisProcess

FORM = {"sessionId": "ATUid_1", "serviceCode": "*134*1234#", "phoneNumber": "+27821234567",
        "networkCode": "65501", "text": ""}

FIRST_SCREEN = "CON Thusong Service Centres"  # the main menu, in English for a new caller


@pytest.mark.parametrize("query", ["", "?token=wrong", "?token=", f"?token={TOKEN}x"])
def test_wrong_or_missing_token_is_403(client, query):
    assert client.post(f"/webhooks/at/ussd{query}", data=FORM).status_code == 403


@pytest.mark.parametrize(
    "drop, field",
    [("sessionId", "sessionId"), ("phoneNumber", "phoneNumber")],
)
def test_malformed_hop_is_400_naming_the_field(client, drop, field):
    form = {k: v for k, v in FORM.items() if k != drop}
    resp = client.post(f"/webhooks/at/ussd?token={TOKEN}", data=form)
    assert resp.status_code == 400
    assert resp.get_json()["field"] == field


def test_invalid_phone_is_400_naming_phone(client):
    resp = client.post(f"/webhooks/at/ussd?token={TOKEN}", data={**FORM, "phoneNumber": "12"})
    assert resp.status_code == 400 and resp.get_json()["field"] == "phoneNumber"


def test_first_hop_is_con_text_plain_with_nothing_before(seeded, client):
    resp = client.post(f"/webhooks/at/ussd?token={TOKEN}", data=FORM)
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    assert resp.get_data(as_text=True).startswith(FIRST_SCREEN)


def test_local_number_format_is_accepted(seeded, client):
    resp = client.post(f"/webhooks/at/ussd?token={TOKEN}", data={**FORM, "phoneNumber": "0821234567"})
    assert resp.status_code == 200 and resp.get_data(as_text=True).startswith(FIRST_SCREEN)


def test_retried_hop_returns_same_screen_without_applying_input_twice(seeded, client):
    phone = Dialer(client)
    phone.dial()
    first = phone.press("1")
    assert phone.retry() == first
    assert phone.retry() == first
    # the session advanced once: pressing 0 (back) returns to the first screen
    phone2 = Dialer(client, phone="+27821112222")
    start = phone2.dial()
    assert phone.press("0") == start


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(
    st.text(max_size=200),
    st.text(alphabet="*0123456789#", max_size=200),
    st.just(""), st.just("*" * 50), st.just("1" * 200), st.just("98*98*98*98*98*0*0*00"),
))
def test_any_text_gets_200_con_or_end(seeded, client, text):
    resp = client.post(f"/webhooks/at/ussd?token={TOKEN}", data={**FORM, "sessionId": f"fz{hash(text)}", "text": text})
    assert resp.status_code == 200
    assert_screen(resp.get_data(as_text=True))


def test_any_text_mid_session_gets_200_con_or_end(seeded, client):
    import random

    rng = random.Random(7)
    alphabet = list("0123456789*#") + ["00", "98", "99", "é", "😀", " "]
    for n in range(60):
        phone = Dialer(client, phone=f"+2782{n:07d}")
        phone.dial()
        for _ in range(rng.randint(1, 12)):
            if phone.ended:
                break
            phone.press("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4))))


@pytest.mark.slow
def test_redis_outage_ends_politely_fast_and_recovers(settings, seeded):
    from gateway.runtime import Runtime
    from gateway.web import create_app

    server = RedisProcess().start()
    rt = Runtime.from_settings(settings.with_(REDIS_URL=server.url))
    try:
        rt.directory.refresh()
        client = create_app(runtime=rt).test_client()
        ok = Dialer(client).dial()
        assert ok
        server.stop()
        started = time.monotonic()
        phone = Dialer(client, failure_expected=True)
        screen = phone.dial()
        elapsed = time.monotonic() - started
        assert phone.ended and elapsed < 1.0, (screen, elapsed)
        assert "sorry" in screen.lower()
        server.start()  # same port: Redis is back
        again = Dialer(client)
        assert again.dial() == ok and not again.ended
    finally:
        server.stop()
        rt.close()


def test_end_of_session_event_is_recorded_and_clears_session(seeded, client):
    from sqlalchemy import select

    from gateway.store.models import UssdSessionLog

    phone = Dialer(client)
    phone.dial()
    resp = client.post(f"/webhooks/at/ussd/events?token={TOKEN}", data={
        "sessionId": phone.session_id, "phoneNumber": phone.phone, "status": "Incomplete",
        "hopsCount": "1", "durationInMillis": "5300", "serviceCode": "*134*1234#", "input": ""})
    assert resp.status_code == 200
    assert seeded.redis.get(f"ussd:s:{phone.session_id}") is None
    with seeded.sessions() as s:
        row = s.scalar(select(UssdSessionLog).where(UssdSessionLog.session_id == phone.session_id))
    assert row.status == "Incomplete" and row.hops == 1 and row.duration_ms == 5300
    # AT repeating the notification is fine
    again = client.post(f"/webhooks/at/ussd/events?token={TOKEN}", data={"sessionId": phone.session_id, "status": "Incomplete"})
    assert again.status_code == 200


def test_end_of_session_event_without_session_id_is_400(client):
    resp = client.post(f"/webhooks/at/ussd/events?token={TOKEN}", data={"status": "Success"})
    assert resp.status_code == 400 and resp.get_json()["field"] == "sessionId"


def test_a_sessions_state_lives_minutes_not_a_day(seeded, client, rt):
    """AT ends a session within ~2 min: its state is kept 5 min (SESSION_TTL), not longer, and
    the caller's profile (language, resume point) is what lasts."""
    from gateway.ussd.sessions import PROFILE_KEY, SESSION_KEY

    phone = Dialer(client, phone="+27821230001")
    phone.dial()
    phone.press("1")
    ttl = rt.redis.ttl(SESSION_KEY + phone.session_id)
    assert 240 < ttl <= 300, ttl
    assert rt.redis.ttl(PROFILE_KEY + phone.phone) > 300


BODIES = [
    b"sessionId=ATUid_f1&serviceCode=%2A134%2A1234%23&phoneNumber=%2B27821234567&networkCode=65501&text=1%2A2",
    b"sessionId=ATUid_f2&serviceCode=*134*1234%23&phoneNumber=0821234567&text=Soweto+East",
    b"sessionId=ATUid_f3&sessionId=other&phoneNumber=%2B27821234567&phoneNumber=0831234567&text=&text=9",
    b"session%49d=ATUid_f4&phoneNumber=%2B27821234567&text=%FF%FE&extra=%zz",
    b"sessionId=ATUid_f5&phoneNumber=%2B27821234567&text=%C3%A9%F0%9F%98%80&serviceCode",
    b"sessionId=ATUid_f6&phoneNumber=%2B27821234567&text=\xff",  # not UTF-8: an empty form
    b"&&sessionId=ATUid_f7;phoneNumber=%2B27821234567&=x&text=a=b",
]


@pytest.mark.parametrize("body", BODIES)
def test_a_hops_fields_are_read_as_werkzeugs_form_parser_reads_them(app, body):
    """The hop reads AT's urlencoded body itself (cheaper than ``request.form``): the same hop,
    or the same 400, for every body."""
    def outcome(form):
        try:
            return at.parse_ussd(form)
        except at.WebhookError as exc:
            return exc.field

    ctype = "application/x-www-form-urlencoded"
    with app.test_request_context("/ussd", method="POST", data=body, content_type=ctype):
        ours = outcome(webhooks._fields(at.USSD_HOP_FIELDS))
    with app.test_request_context("/ussd", method="POST", data=body, content_type=ctype):
        assert ours == outcome(request.form)


def test_a_multipart_hop_is_answered_too(seeded, client):
    resp = client.post(f"/webhooks/at/ussd?token={TOKEN}", data=FORM, content_type="multipart/form-data")
    assert resp.status_code == 200 and resp.get_data(as_text=True).startswith(FIRST_SCREEN)
