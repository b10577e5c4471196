"""AT's busiest callbacks' own WSGI path (gateway.web.fast_callbacks) answers exactly as the Flask
views do, and takes ordinary callbacks only: each case is sent to an app with it and to one
without it."""

from __future__ import annotations

import pytest
from flask import request_started

from gateway.web import create_app
from gateway.web.fast_callbacks import FastCallbacks
from tests.conftest import TOKEN

HOP = {"sessionId": "ATUid_wsgi", "serviceCode": "*134*1234#", "phoneNumber": "+27821234567", "text": ""}
FORM = "application/x-www-form-urlencoded"
SMS = {"from": "+27821234567", "to": "31234", "text": "CENTRE Soweto", "date": "2026-11-22 10:00:00",
       "id": "ATUid_wsgi", "linkId": "l1", "networkCode": "65501"}
IGNORED = {"X-Request-Id", "Date"}


def _body(fields: dict) -> bytes:
    from urllib.parse import urlencode

    return urlencode(fields).encode()


# (case, method, query, content type, body): the session id is made unique per app below.
SMS_CASES = [
    ("an SMS", "POST", f"token={TOKEN}", FORM, _body(SMS)),
    ("an SMS, cost and odd fields", "POST", f"token={TOKEN}", FORM, _body({**SMS, "cost": "KES 0.8000", "x": "y"})),
    ("an SMS without a date", "POST", f"token={TOKEN}", FORM, _body({k: v for k, v in SMS.items() if k != "date"})),
    ("an SMS with an empty text", "POST", f"token={TOKEN}", FORM, _body({**SMS, "text": ""})),
    ("an SMS without text", "POST", f"token={TOKEN}", FORM, _body({k: v for k, v in SMS.items() if k != "text"})),
    ("an SMS without id", "POST", f"token={TOKEN}", FORM, _body({k: v for k, v in SMS.items() if k != "id"})),
    ("an SMS from a bad number", "POST", f"token={TOKEN}", FORM, _body({**SMS, "from": "hello"})),
    ("an SMS, wrong token", "POST", "token=nope", FORM, _body(SMS)),
    ("an SMS, too large", "POST", f"token={TOKEN}", FORM, _body({**SMS, "text": "x" * (70 * 1024)})),
    ("an SMS as multipart", "POST", f"token={TOKEN}", "multipart/form-data; boundary=b",
     b"".join(b'--b\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (k.encode(), v.encode())
              for k, v in SMS.items()) + b"--b--\r\n"),
]
CASES = [
    ("first hop", "POST", f"token={TOKEN}", FORM, _body(HOP)),
    ("a later hop", "POST", f"token={TOKEN}", FORM, _body({**HOP, "text": "1"})),
    ("charset in the type", "POST", f"token={TOKEN}", f"{FORM}; charset=UTF-8", _body(HOP)),
    ("extra fields, repeated field", "POST", f"token={TOKEN}&x=1", FORM,
     _body(HOP) + b"&networkCode=65501&text=9"),
    ("a code we do not serve", "POST", f"token={TOKEN}", FORM, _body({**HOP, "serviceCode": "*120*1#"})),
    ("wrong token", "POST", "token=nope", FORM, _body(HOP)),
    ("no token", "POST", "", FORM, _body(HOP)),
    ("token given twice, first wrong", "POST", f"token=nope&token={TOKEN}", FORM, _body(HOP)),
    ("GET", "GET", f"token={TOKEN}", None, b""),
    ("no sessionId", "POST", f"token={TOKEN}", FORM, _body({k: v for k, v in HOP.items() if k != "sessionId"})),
    ("no phoneNumber", "POST", f"token={TOKEN}", FORM, _body({k: v for k, v in HOP.items() if k != "phoneNumber"})),
    ("a JSON body", "POST", f"token={TOKEN}", "application/json", b'{"sessionId": "x"}'),
    ("a multipart body", "POST", f"token={TOKEN}", "multipart/form-data; boundary=b",
     b'--b\r\nContent-Disposition: form-data; name="sessionId"\r\n\r\nATUid_wsgi\r\n'
     b'--b\r\nContent-Disposition: form-data; name="phoneNumber"\r\n\r\n+27821234567\r\n'
     b'--b\r\nContent-Disposition: form-data; name="serviceCode"\r\n\r\n*134*1234#\r\n--b--\r\n'),
    ("not UTF-8", "POST", f"token={TOKEN}", FORM, b"sessionId=\xff\xfe&phoneNumber=%2B27821234567"),
    ("too large", "POST", f"token={TOKEN}", FORM, _body({**HOP, "text": "1" * (70 * 1024)})),
]


def _without_fast_path(rt):
    """The app as it was before the path: AT's callbacks mounted as the Flask app alone."""
    from gateway.web.app import WEBHOOKS

    application = create_app(runtime=rt)
    dispatcher = application.wsgi_app.app  # RequestLog → DispatcherMiddleware
    hops = dispatcher.mounts[WEBHOOKS]
    assert isinstance(hops, FastCallbacks)
    dispatcher.mounts[WEBHOOKS] = hops.app
    return application


def _send(client, path, method, query, content_type, body, session: str):
    body = body.replace(b"ATUid_wsgi", session.encode())
    headers = {"Content-Type": content_type} if content_type else {}
    return client.open(f"/webhooks/at/{path}?{query}", method=method, data=body, headers=headers)


TABLE = [("ussd", *case) for case in CASES] + [("sms", *case) for case in SMS_CASES]


@pytest.mark.parametrize(("path", "case", "method", "query", "content_type", "body"), TABLE,
                         ids=[f"{c[0]}: {c[1]}" for c in TABLE])
def test_the_fast_path_answers_as_the_flask_view(rt, app, path, case, method, query, content_type, body):
    flask_only = _without_fast_path(rt)
    fast = _send(app.test_client(), path, method, query, content_type, body, "ATUid_fast")
    slow = _send(flask_only.test_client(), path, method, query, content_type, body, "ATUid_slow")
    assert (fast.status_code, fast.get_data()) == (slow.status_code, slow.get_data())
    fast_headers = {k: v for k, v in fast.headers.items() if k not in IGNORED}
    slow_headers = {k: v for k, v in slow.headers.items() if k not in IGNORED}
    assert fast_headers == slow_headers
    assert "X-Request-Id" in fast.headers
    again = _send(app.test_client(), path, method, query, content_type, body, "ATUid_fast")
    assert (again.status_code, again.get_data()) == (fast.status_code, fast.get_data()) or path == "sms"
    if path == "sms" and fast.status_code == 200:  # AT's retry of the same id: acknowledged, not stored twice
        assert again.get_json() == {"ok": True, "duplicate": True} and fast.get_json()["duplicate"] is False


def test_an_ordinary_sms_takes_the_path_and_is_stored(rt, app):
    from sqlalchemy import select

    from gateway.store.models import Message

    seen = []

    def started(sender, **_extra):
        seen.append(sender.name)

    request_started.connect(started)
    try:
        answered = app.test_client().post(f"/webhooks/at/sms?token={TOKEN}", data=SMS)
    finally:
        request_started.disconnect(started)
    assert answered.status_code == 200 and answered.get_json() == {"ok": True, "duplicate": False}
    assert seen == []
    with rt.sessions() as s:
        assert s.scalars(select(Message.text).where(Message.direction == "in")).all() == ["CENTRE Soweto"]


def test_an_error_while_storing_is_logged_and_answered_500(app, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from gateway.sms import inbound
    from tests.conftest import captured_logs

    def gone(_rt, _sms):
        raise OperationalError("INSERT", {}, Exception("the database went away"))

    monkeypatch.setattr(inbound, "store", gone)
    with captured_logs("ERROR") as logs:
        answered = app.test_client().post(f"/webhooks/at/sms?token={TOKEN}", data=SMS)
    assert answered.status_code == 500 and b"ok" not in answered.get_data()
    assert "Exception on /webhooks/at/sms [POST]" in logs.getvalue()


def test_an_ordinary_hop_takes_the_path_and_an_odd_one_goes_to_flask(app):
    seen = []

    def started(sender, **_extra):
        seen.append(sender.name)

    request_started.connect(started)
    try:
        client = app.test_client()
        ordinary = client.post(f"/webhooks/at/ussd?token={TOKEN}", data=HOP)
        assert ordinary.status_code == 200 and ordinary.get_data(as_text=True).startswith("CON ")
        assert seen == []  # no Flask app dispatched it
        odd = client.post(f"/webhooks/at/ussd?token={TOKEN}", data={**HOP, "sessionId": ""})
        assert odd.status_code == 400 and odd.get_json()["field"] == "sessionId"
        assert len(seen) == 1
    finally:
        request_started.disconnect(started)
