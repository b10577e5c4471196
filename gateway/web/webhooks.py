"""Africa's Talking callbacks. Every URL carries the shared secret as ``?token=``.

- wrong or missing token → 403; malformed form → 400 naming the field;
- USSD always answers 200 ``CON``/``END`` (errors end the session politely, never a 5xx);
- an inbound SMS is stored before we answer 200; AT's retries of the same ``id`` are
  acknowledged and ignored.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, jsonify, request
from werkzeug.datastructures import MultiDict

from gateway.channels import africastalking as at
from gateway.sms import consent, delivery
from gateway.ussd import hop as ussd
from gateway.web.context import runtime_of
from gateway.web.fast_callbacks import Answer, answer_sms, answer_ussd, form_fields
from gateway.web.tokens import token_matches

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)  # mounted at /webhooks/at (gateway.web.app.WEBHOOKS)


@bp.before_request
def _check_token() -> None:
    if not token_matches(request.args.get("token", ""), runtime_of().settings.webhook_tokens):
        abort(403)


@bp.errorhandler(at.WebhookError)
def _malformed(exc: at.WebhookError):
    return jsonify(error="malformed callback", field=exc.field, detail=str(exc)), 400


@bp.post("/ussd")
def ussd_hop():
    return _answered(answer_ussd, at.USSD_HOP_FIELDS)  # 400 naming sessionId/phoneNumber if absent


def _answered(answer: Answer, names: frozenset[str]) -> Response:
    """The answer of the fast path's ``answer`` (:mod:`gateway.web.fast_callbacks`), for the
    callbacks it passes on: the same code answers both ways."""
    content_type, payload = answer(runtime_of(), _fields(names))
    return Response(payload, status=200, content_type=content_type)


def _fields(names: frozenset[str]) -> dict[str, str] | MultiDict:
    """The first value of each of ``names`` in the request's form (``form_fields``), or
    ``request.form`` for a body that is not urlencoded. The body is bounded by
    ``MAX_CONTENT_LENGTH`` as before (413)."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return request.form
    return form_fields(request.get_data(cache=False), names)


@bp.post("/ussd/events")
def ussd_event():
    event = at.parse_ussd_event(request.form)
    ussd.record_end(runtime_of(), event)
    return jsonify(ok=True)


@bp.post("/sms")
def sms_inbound():
    return _answered(answer_sms, at.INBOUND_SMS_FIELDS)  # stored before the 200


@bp.post("/sms/delivery")
def sms_delivery():
    report = at.parse_delivery(request.form)
    outcome = delivery.apply_delivery(runtime_of(), report)
    return jsonify(ok=True, outcome=outcome)


@bp.post("/sms/optout")
def sms_optout():
    optout = at.parse_optout(request.form)
    # AT's own opt-out list already confirmed to the citizen: no SMS from us.
    consent.record_opt_out(runtime_of(), optout.phone, sender_id=optout.sender_id)
    return jsonify(ok=True)
