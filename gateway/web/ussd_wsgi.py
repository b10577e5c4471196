"""A USSD hop answered without Flask's request machinery.

AT posts a hop several times a session, and every hop must answer well inside AT's timeout;
Flask's dispatch, request and app contexts cost about as much CPU as answering the hop itself.
:class:`UssdHops` wraps AT's callback app: an ordinary hop — ``POST /ussd`` with a right
token, a urlencoded body within ``MAX_CONTENT_LENGTH`` and the fields a hop needs — is answered
here, with the same body, status and headers the Flask view gives; anything else (another path
or method, a wrong token, a missing field, an odd body) goes to the Flask app untouched, which
answers it as before (403, 405, 413, 400 naming the field).
"""

from __future__ import annotations

import io
from urllib.parse import parse_qsl

from gateway.channels import africastalking as at
from gateway.metrics import USSD_HOPS, USSD_SECONDS
from gateway.ussd import hop as ussd
from gateway.web.tokens import token_matches

FORM = "application/x-www-form-urlencoded"


def form_fields(body: bytes, names: frozenset[str]) -> dict[str, str]:
    """The first value of each of ``names`` in a urlencoded ``body``, decoded as werkzeug's form
    parser decodes it; a body that is not UTF-8 is an empty form, as there."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return {}
    fields: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote"):
        if name in names and name not in fields:
            fields[name] = value
    return fields


class UssdHops:
    """WSGI middleware over AT's callback app (mounted at ``/webhooks/at``): see the module."""

    def __init__(self, app, runtime, headers: dict[str, str]):
        self.app, self.runtime = app, runtime
        self.tokens = runtime.settings.webhook_tokens
        self.limit = runtime.settings.MAX_CONTENT_LENGTH
        self.headers = list(headers.items())

    def __call__(self, environ, start_response):
        if (environ.get("PATH_INFO") != "/ussd" or environ.get("REQUEST_METHOD") != "POST"
                or environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower() != FORM):
            return self.app(environ, start_response)
        token = next((v for k, v in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
                      if k == "token"), "")
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            length = -1
        if not token_matches(token, self.tokens) or not 0 <= length <= (self.limit or length):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(length)
        try:
            hop = at.parse_ussd(form_fields(body, at.USSD_HOP_FIELDS))
        except at.WebhookError:
            environ["wsgi.input"] = io.BytesIO(body)  # the Flask view reads it again: 400 naming the field
            return self.app(environ, start_response)
        with USSD_SECONDS.time():
            text, end = ussd.answer(self.runtime, hop)
        USSD_HOPS.labels("end" if end else "continue").inc()
        payload = at.ussd_response(text, end).encode()
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                                  ("Content-Length", str(len(payload))), *self.headers])
        return [payload]
