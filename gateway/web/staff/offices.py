"""The "Offices today" page of a centre: each office it has with its state now, and one small
form per office to set it — a reason chosen (or none), then Up, Slow or Down: two taps on a
phone, no JavaScript. Every account sees and sets the centres its scope gives
(:func:`~gateway.staff.accounts.allowed_centre_ids`: a clerk their own, admins and approvers
with no centre listed every one); any other centre is 404, as one that does not exist.

Who may set what, and the audit row, are :func:`gateway.staff.office_status.set_status`'s; a
refused office, state or reason is shown as a form error and nothing is written.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, url_for

from gateway.clock import SAST
from gateway.dialogue.office_status import REASONS, Status, end_of_day
from gateway.dialogue.offices import OfficeError
from gateway.staff import centres
from gateway.staff.accounts import StaffError
from gateway.staff.centres import CentreNotFound
from gateway.staff.office_status import set_status, statuses
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member
from gateway.web.staff.forms import OfficeStatusForm
from menus.catalogue import Catalogues

STATE_BUTTONS = (("up", "Up"), ("slow", "Slow"), ("down", "Down"))


def _english(key: str) -> str:
    """A name as the English catalogue (the citizens' fallback) says it."""
    return Catalogues.load().text("en", key)


def until(status: Status) -> str:
    """When a report stops counting, as staff read it: "until midnight" for the default."""
    if status.expires_at == end_of_day(status.set_at):
        return "until midnight"
    return f"until {status.expires_at.astimezone(SAST):%d %b %H:%M}"


def said(status: Status, name: str) -> str:
    """One status as one line: "Home Affairs: DOWN – system offline"."""
    reason = f" – {_english(f'status_reason.{status.reason}')}" if status.reason else ""
    return f"{name}: {status.state.upper()}{reason}"


def _at(moment: datetime) -> str:
    return f"{moment.astimezone(SAST):%H:%M}"


@bp.route("/centres/<int:centre_id>/offices", methods=["GET", "POST"])
def offices_today(centre_id: int):
    rt, member = runtime_of(), current_member()
    try:
        record = centres.get_centre(rt, member, centre_id)
    except CentreNotFound:
        abort(404)
    form = OfficeStatusForm()
    if form.validate_on_submit():
        try:
            status = set_status(rt, member, centre_id, form.office.data, form.state.data, form.reason.data or None,
                                via="dashboard", address=client_address())
        except CentreNotFound:
            abort(404)
        except (OfficeError, StaffError) as exc:
            flash(f"Not set: {exc}", "error")
        else:
            flash(f"{said(status, _english(f'office.{status.office}'))}, {until(status)}.", "info")
            return redirect(url_for("staff.offices_today", centre_id=centre_id))
    else:
        for name, errors in form.errors.items():
            if name != "csrf_token":  # a stale form: the refusals said so already
                flash(f"Not set: {' '.join(str(e) for e in errors)}", "error")
    now = {s.office: s for s in statuses(rt, member, centre_id)}
    rows = [{"code": code, "name": _english(f"office.{code}"), "status": now.get(code)} for code in record.offices]
    reasons = [(code, _english(f"status_reason.{code}")) for code in REASONS]
    return render_template("staff/offices_today.html", record=record, rows=rows, reasons=reasons,
                           buttons=STATE_BUTTONS, form=form, said=said, until=until, at=_at)
