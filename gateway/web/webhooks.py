"""Africa's Talking callbacks. Every URL carries the shared secret as ``?token=``.

- wrong or missing token → 403; malformed form → 400 naming the field;
- USSD always answers 200 ``CON``/``END`` (errors end the session politely, never a 5xx);
- an inbound SMS is stored before we answer 200; AT's retries of the same ``id`` are
  acknowledged and ignored.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Response, abort, current_app, jsonify, request

from gateway import inbound, ussd
from gateway.channels import africastalking as at
from gateway.metrics import SMS_INBOUND, USSD_HOPS, USSD_SECONDS

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks/at")


def _runtime():
    return current_app.extensions["thusong_runtime"]


@bp.before_request
def _check_token() -> None:
    expected = _runtime().settings.WEBHOOK_TOKEN
    given = request.args.get("token", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        abort(403)


@bp.errorhandler(at.WebhookError)
def _malformed(exc: at.WebhookError):
    return jsonify(error="malformed callback", field=exc.field, detail=str(exc)), 400


@bp.post("/ussd")
def ussd_hop():
    hop = at.parse_ussd(request.form)  # 400 naming sessionId/phoneNumber if absent
    with USSD_SECONDS.time():
        text, end = ussd.answer(_runtime(), hop)
    USSD_HOPS.labels("end" if end else "continue").inc()
    return Response(at.ussd_response(text, end), status=200, mimetype="text/plain")


@bp.post("/ussd/events")
def ussd_event():
    event = at.parse_ussd_event(request.form)
    ussd.record_end(_runtime(), event)
    return jsonify(ok=True)


@bp.post("/sms")
def sms_inbound():
    sms = at.parse_inbound_sms(request.form)
    created = inbound.store(_runtime(), sms)
    SMS_INBOUND.labels("stored" if created else "duplicate").inc()
    return jsonify(ok=True, duplicate=not created)


@bp.post("/sms/delivery")
def sms_delivery():
    report = at.parse_delivery(request.form)
    from gateway import delivery

    outcome = delivery.apply_delivery(_runtime(), report)
    return jsonify(ok=True, outcome=outcome)


@bp.post("/sms/optout")
def sms_optout():
    optout = at.parse_optout(request.form)
    from gateway import citizens

    # AT's own opt-out list already confirmed to the citizen: no SMS from us.
    citizens.opt_out(_runtime(), optout.phone, source="at-optout", confirm=False, sender_id=optout.sender_id)
    return jsonify(ok=True)
