"""AT's two busiest callbacks answered without Flask's request machinery.

AT posts a USSD hop several times a session, each to be answered well inside AT's timeout,
and an inbound SMS for every text citizens send; Flask's dispatch, request and app contexts
cost about as much CPU as answering a hop itself. :class:`FastCallbacks` wraps AT's callback
app: an ordinary callback — ``POST /ussd`` or ``POST /sms`` with a right token, a urlencoded
body within ``MAX_CONTENT_LENGTH`` and the fields it needs — is answered here, with the body,
status and headers the Flask view gives (:mod:`gateway.web.webhooks`); anything else (another
path or method, a wrong token, a missing field, an odd body) goes to the Flask app untouched,
which answers it as before (403, 405, 413, 400 naming the field). An error while answering is
logged and answered 500, as Flask does.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from urllib.parse import parse_qsl

from werkzeug.exceptions import InternalServerError

from gateway.channels import africastalking as at
from gateway.metrics import SMS_INBOUND, USSD_HOPS, USSD_SECONDS
from gateway.sms import inbound
from gateway.ussd import hop as ussd
from gateway.web.tokens import token_matches

log = logging.getLogger(__name__)
FORM = "application/x-www-form-urlencoded"
Answer = Callable[[object, dict], tuple[str, bytes]]  # (runtime, fields) -> (content type, body)


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


def json_body(**values) -> bytes:
    """What Flask's ``jsonify`` writes for ``values`` (sorted keys, compact, a newline)."""
    return json.dumps(values, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def answer_ussd(rt, fields: dict) -> tuple[str, bytes]:
    """As ``webhooks.ussd_hop``."""
    hop = at.parse_ussd(fields)
    with USSD_SECONDS.time():
        text, end = ussd.answer(rt, hop)
    USSD_HOPS.labels("end" if end else "continue").inc()
    return "text/plain; charset=utf-8", at.ussd_response(text, end).encode()


def answer_sms(rt, fields: dict) -> tuple[str, bytes]:
    """As ``webhooks.sms_inbound``: stored (its commit done) before the answer."""
    created = inbound.store(rt, at.parse_inbound_sms(fields))
    SMS_INBOUND.labels("stored" if created else "duplicate").inc()
    return "application/json", json_body(ok=True, duplicate=not created)


ROUTES: dict[str, tuple[frozenset[str], Answer]] = {
    "/ussd": (at.USSD_HOP_FIELDS, answer_ussd),
    "/sms": (at.INBOUND_SMS_FIELDS, answer_sms),
}


class FastCallbacks:
    """WSGI middleware over AT's callback app (mounted at ``/webhooks/at``): see the module."""

    def __init__(self, app, runtime, headers: dict[str, str]):
        self.app, self.runtime = app, runtime
        self.tokens = runtime.settings.webhook_tokens
        self.limit = runtime.settings.MAX_CONTENT_LENGTH
        self.headers = list(headers.items())

    def __call__(self, environ, start_response):
        route = ROUTES.get(environ.get("PATH_INFO", ""))
        if (route is None or environ.get("REQUEST_METHOD") != "POST"
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
        names, answer = route
        body = environ["wsgi.input"].read(length)
        try:
            content_type, payload = answer(self.runtime, form_fields(body, names))
        except at.WebhookError:
            environ["wsgi.input"] = io.BytesIO(body)  # the Flask view reads it again: 400 naming the field
            return self.app(environ, start_response)
        except Exception:
            log.exception("Exception on %s [POST]", environ.get("SCRIPT_NAME", "") + environ["PATH_INFO"])
            return InternalServerError()(environ, start_response)
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(payload))),
                                  *self.headers])
        return [payload]
