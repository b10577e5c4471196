"""The phone simulator: a page (keypad, screen, SMS inbox) for trying journeys without a mobile
network. Served only when ``SIMULATOR_ENABLED`` (on in development, never in production: it
would let anyone read any number's SMS and make the service text any number). Its JSON
endpoints call the same handlers as
AT's webhooks server-side, so the webhook token never reaches the browser."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Blueprint, abort, jsonify, render_template, request

from gateway.channels import africastalking as at
from gateway.phones import to_e164
from gateway.sms import inbound, outbox
from gateway.ussd import hop as ussd
from gateway.web.context import runtime_of

bp = Blueprint("simulator", __name__, url_prefix="/simulator")


@bp.before_request
def _enabled() -> None:
    if not runtime_of().settings.simulator_enabled:
        abort(404)


def _phone(raw: str | None) -> str:
    try:
        return to_e164(raw or "")
    except ValueError:
        abort(400, "phone: not a valid South African number")


@bp.get("/")
def page():
    rt = runtime_of()
    return render_template("simulator.html", service_code=rt.settings.ussd_service_codes[0])


@bp.post("/ussd")
def dial():
    """One hop: ``{phone, session, text}`` → ``{reply, end, session}``, exactly as AT would."""
    data = request.get_json(silent=True) or {}
    phone = _phone(data.get("phone"))
    session = str(data.get("session") or f"SIM-{uuid.uuid4().hex[:16]}")
    code = runtime_of().settings.ussd_service_codes[0]  # the simulated phone dials the first code
    hop = at.UssdHop(session, code, phone, str(data.get("text") or "")[:1000])
    text, end = ussd.answer(runtime_of(), hop)
    return jsonify(reply=text, end=end, session=session, raw=at.ussd_response(text, end))


@bp.post("/sms")
def send_sms():
    """The simulated phone texts the service: stored and processed like an AT inbound SMS."""
    data = request.get_json(silent=True) or {}
    phone = _phone(data.get("phone"))
    text = str(data.get("text") or "")[:480]
    sms = at.InboundSms(f"SIM-{uuid.uuid4().hex}", phone, "sim", text, datetime.now(UTC), None, "sim")
    inbound.store(runtime_of(), sms)
    return jsonify(ok=True)


@bp.get("/inbox")
def inbox():
    """Messages the service sent (or would have sent) to ``phone``, newest first."""
    phone = _phone(request.args.get("phone"))
    return jsonify(messages=outbox.inbox(runtime_of(), phone))
