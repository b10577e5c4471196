"""The USSD hop's own WSGI path (gateway.web.ussd_wsgi) answers exactly as the Flask view does,
and takes the ordinary hop only: each case is sent to an app with it and to one without it."""

from __future__ import annotations

import pytest
from flask import request_started

from gateway.web import create_app
from gateway.web.ussd_wsgi import UssdHops
from tests.conftest import TOKEN

HOP = {"sessionId": "ATUid_wsgi", "serviceCode": "*134*1234#", "phoneNumber": "+27821234567", "text": ""}
FORM = "application/x-www-form-urlencoded"
IGNORED = {"X-Request-Id", "Date"}


def _body(fields: dict) -> bytes:
    from urllib.parse import urlencode

    return urlencode(fields).encode()


# (case, method, query, content type, body): the session id is made unique per app below.
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
    assert isinstance(hops, UssdHops)
    dispatcher.mounts[WEBHOOKS] = hops.app
    return application


def _send(client, method, query, content_type, body, session: str):
    body = body.replace(b"ATUid_wsgi", session.encode())
    headers = {"Content-Type": content_type} if content_type else {}
    return client.open(f"/webhooks/at/ussd?{query}", method=method, data=body, headers=headers)


@pytest.mark.parametrize(("case", "method", "query", "content_type", "body"), CASES, ids=[c[0] for c in CASES])
def test_the_hop_path_answers_as_the_flask_view(rt, app, case, method, query, content_type, body):
    flask_only = _without_fast_path(rt)
    fast = _send(app.test_client(), method, query, content_type, body, "ATUid_fast")
    slow = _send(flask_only.test_client(), method, query, content_type, body, "ATUid_slow")
    assert (fast.status_code, fast.get_data()) == (slow.status_code, slow.get_data())
    fast_headers = {k: v for k, v in fast.headers.items() if k not in IGNORED}
    slow_headers = {k: v for k, v in slow.headers.items() if k not in IGNORED}
    assert fast_headers == slow_headers
    assert "X-Request-Id" in fast.headers


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
