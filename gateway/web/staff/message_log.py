"""The message log per number (every role): type a number, read what the service sent to it
and received from it, newest first, with the delivery state and AT's failure reason in words.

Scope and the audit row are :mod:`gateway.staff.message_log`'s (imported as ``log``). The number travels in the
look-up's POST body only: the result pages are reached through a random look-up id (held in
Redis for :data:`LOOKUP_SECONDS`, bound to the account that typed the number), so neither a URL
nor a page ever holds the number — pages show it masked, as the logs do. Every page shown is
a look-up, audited; an expired or someone else's look-up id asks for the number again.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from config import mask_phone
from gateway.phones import InvalidPhone, to_e164
from gateway.staff import message_log as log
from gateway.staff import number_lookups
from gateway.staff.accounts import allowed_centre_ids
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member
from gateway.web.staff.broadcast_text import asked_text, plain_reason
from gateway.web.staff.forms import MessageLogForm

EXPIRED = "That look-up has expired (or is not yours): type the number again."


@bp.route("/messages", methods=["GET", "POST"])
def message_log():
    form = MessageLogForm()
    if form.validate_on_submit():
        try:
            phone = to_e164(form.number.data)
        except InvalidPhone as exc:
            form.number.errors = [*form.number.errors, f"Not a phone number we can use: {exc}."]
        else:
            lookup = number_lookups.hold(runtime_of(), current_member().id, phone)
            return redirect(url_for("staff.message_log_result", lookup=lookup))
    form.number.data = ""  # never echo what was typed
    return render_template("staff/message_log.html", form=form, everyone=allowed_centre_ids(current_member()) is None)


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 7 else 1


@bp.get("/messages/<lookup>")
def message_log_result(lookup: str):
    rt, member = runtime_of(), current_member()
    phone = number_lookups.held(rt, member.id, lookup)
    if phone is None:
        flash(EXPIRED, "error")
        return redirect(url_for("staff.message_log"))
    allowed = log.in_scope(rt, member, phone)
    page = log.log_page(rt, phone, _page_number()) if allowed else None
    log.record(rt, member, phone, client_address(), in_scope=allowed,
                       page=page.number if page else None, shown=len(page.entries) if page else 0)
    rows = [(asked_text(e.at), e, plain_reason(e.failure_reason) if e.failure_reason else "")
            for e in (page.entries if page else [])]
    return render_template("staff/message_log.html", form=MessageLogForm(formdata=None), shown=mask_phone(phone),
                           page=page, rows=rows, lookup=lookup, everyone=allowed_centre_ids(member) is None)
