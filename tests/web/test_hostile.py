"""Hostile input on all five AT webhooks (property tests): NUL bytes, fields over 64 and over
1,000 characters, integers over 2**31, ``1234.0``, ``nan``, emoji, empty values, fields absent.

- never a 5xx; a 400 only names a field we cannot do without;
- an inbound SMS with a usable ``id``, ``from`` and ``text`` is always stored (the row is read
  back), whatever the other fields hold;
- a USSD hop always answers 200 ``text/plain`` ``CON``/``END`` unless it lacks a usable
  ``sessionId`` or ``phoneNumber``;
- everything stored fits its column (:func:`tests.stored_rows.assert_rows_fit`; on PostgreSQL,
  which refuses NUL and over-long values itself, run with ``TEST_DATABASE_URL``).
"""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from gateway.store.models import Message
from tests.conftest import TOKEN
from tests.stored_rows import assert_rows_fit

EXAMPLES = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

PHONES = ["+27821234567", "0821234567", "27 82 123 4567", "(082) 123-4567"]


def _long(n: int):
    """A value of exactly ``n`` characters: one repeated character, emoji and NUL included."""
    return st.sampled_from(["a", "7", "\x00", "😀", " ", "é"]).map(lambda c: c * n)


NASTY = st.one_of(
    st.sampled_from(["", " ", "\x00", "abc\x00def", "😀", "nan", "NaN", "inf", "-inf", "1234.0", "-1", "0",
                     str(2**31), str(2**40), str(-(2**63)), "1e999999999", "None", "null", "+254711XXXYYY",
                     "2026-11-22 10:00:00", "9999-99-99", "\u202e\u200b", "\ufeff"]),
    _long(65), _long(256), _long(1001),
    st.text(max_size=30),
)


def _field(plausible):
    return st.one_of(NASTY, st.sampled_from(plausible) if isinstance(plausible, list) else plausible)


def _form(**fields):
    """A form where every field may also be absent."""
    return st.fixed_dictionaries({}, optional={name: _field(values) for name, values in fields.items()})


INBOUND_OTHERS = dict(to=["31234", "40404"], date=["2026-11-22 10:00:00", "2026-11-22T10:00:00Z"],
                      linkId=["link-1", "b1a1a0c2-3e4f-4a5b-9c8d-7e6f5a4b3c2d"], networkCode=["65501", "65510"],
                      cost=["ZAR 0.0000", "KES 0.8000"])
USABLE_ID = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=255)


def _post(client, path: str, form: dict):
    resp = client.post(f"/webhooks/at/{path}?token={TOKEN}", data=form)
    assert resp.status_code < 500, (path, form, resp.get_data(as_text=True))
    return resp


def _refused_field(resp, allowed: set[str]) -> None:
    assert resp.status_code in (200, 400), resp.status_code
    if resp.status_code == 400:
        assert resp.get_json()["field"] in allowed, resp.get_json()


@EXAMPLES
@given(at_id=USABLE_ID, phone=st.sampled_from(PHONES), text=_field(["HELP", "CENTRE Soweto", ""]),
       others=_form(**INBOUND_OTHERS))
def test_inbound_sms_with_usable_id_from_text_is_always_stored(rt, client, at_id, phone, text, others):
    resp = _post(client, "sms", {**others, "id": at_id, "from": phone, "text": text})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    with rt.sessions() as s:
        row = s.scalar(select(Message).where(Message.direction == "in", Message.at_message_id == at_id))
    assert row is not None and row.phone == "+27821234567"
    assert_rows_fit(rt)


@EXAMPLES
@given(form=_form(id=["ATXid_1"], **{"from": PHONES}, text=["HELP"], **INBOUND_OTHERS))
def test_inbound_sms_never_5xx(rt, client, form):
    _refused_field(_post(client, "sms", form), {"id", "from", "text"})
    assert_rows_fit(rt)


@EXAMPLES
@given(form=_form(id=["ATXid_dlr_1", "ATXid_" + "d" * 120], status=["Success", "Failed", "Sent"],
                  phoneNumber=PHONES, networkCode=["65501"], failureReason=["DeliveryFailure", "UserInBlackList"],
                  retryCount=["0", "3"]))
def test_delivery_report_never_5xx(rt, client, form):
    _refused_field(_post(client, "sms/delivery", form), {"id", "status"})
    assert_rows_fit(rt)


@EXAMPLES
@given(form=_form(phoneNumber=PHONES, senderId=["THUSONG", "31234"]))
def test_optout_never_5xx(rt, client, form):
    _refused_field(_post(client, "sms/optout", form), {"phoneNumber"})
    assert_rows_fit(rt)


@EXAMPLES
@given(form=_form(sessionId=["ATUid_ev"], phoneNumber=PHONES, status=["Success", "Incomplete", "Failed"],
                  hopsCount=["3"], durationInMillis=["5300"], networkCode=["65501"], cost=["ZAR 0.0200"],
                  input=["1*2"], lastAppResponse=["CON Choose"], errorMessage=["USSD timeout"],
                  serviceCode=["*134*1234#"]))
def test_ussd_event_never_5xx(rt, client, form):
    _refused_field(_post(client, "ussd/events", form), {"sessionId"})
    assert_rows_fit(rt)


@EXAMPLES
@given(form=_form(sessionId=["ATUid_hop_1", "ATUid_hop_2"], phoneNumber=PHONES, serviceCode=["*134*1234#"],
                  networkCode=["65501"], text=["", "1", "1*2", "9*9*9", "0*00*98"]))
def test_ussd_hop_is_con_or_end_text_plain(rt, client, form):
    resp = _post(client, "ussd", form)
    _refused_field(resp, {"sessionId", "phoneNumber"})
    if resp.status_code == 200:
        assert resp.mimetype == "text/plain"
        assert resp.get_data(as_text=True)[:4] in ("CON ", "END ")


@EXAMPLES
@given(session=USABLE_ID, phone=st.sampled_from(PHONES),
       form=_form(serviceCode=["*134*1234#"], networkCode=["65501"], text=["", "1", "1*2"]))
def test_ussd_hop_with_usable_session_and_phone_always_answers(rt, client, session, phone, form):
    resp = _post(client, "ussd", {**form, "sessionId": session, "phoneNumber": phone})
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    assert resp.get_data(as_text=True)[:4] in ("CON ", "END ")
