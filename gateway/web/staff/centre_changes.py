"""Centre changes waiting for approval (approvers and admins): the list, each with what
citizens read now beside what they would read, and approve / reject.

Who may decide what, and the binding to what the page showed, is
:mod:`gateway.staff.centre_changes`' decision; each form sends back the change's ``seen``
digest, and a change altered since (or decided by someone else) is refused with "this
changed since you opened it" and shown again as it is now. A change outside the member's
centres is 404; the audit rows are written by the domain, with the request's address.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for

from gateway.clock import SAST
from gateway.staff import centre_changes
from gateway.staff.accounts import APPROVER
from gateway.store.models import as_utc
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member, role_required
from gateway.web.staff.forms import CentreChangeForm, CentreChangeRejectForm


@bp.get("/centres/changes/")
@role_required(APPROVER)
def centre_change_list():
    member = current_member()
    rows = centre_changes.pending_changes(runtime_of(), member)
    return render_template("staff/centre_changes.html", rows=rows, member=member,
                           local=lambda at: as_utc(at).astimezone(SAST).strftime("%a %-d %b %H:%M"))


@bp.post("/centres/changes/<int:change_id>/approve")
@role_required(APPROVER)
def centre_change_approve(change_id: int):
    form = CentreChangeForm()
    if form.validate_on_submit():
        _decide(lambda: centre_changes.approve(runtime_of(), current_member(), change_id, form.seen.data,
                                               client_address()),
                "Approved: citizens read the new text of {name} now.")
    else:
        flash("Not approved: open the list again and decide from there.", "error")
    return redirect(url_for("staff.centre_change_list"))


@bp.post("/centres/changes/<int:change_id>/reject")
@role_required(APPROVER)
def centre_change_reject(change_id: int):
    form = CentreChangeRejectForm()
    if form.validate_on_submit():
        _decide(lambda: centre_changes.reject(runtime_of(), current_member(), change_id, form.seen.data,
                                              form.reason.data, client_address()),
                "Rejected the change to {name}; the clerk sees your reason.")
    else:
        flash(" ".join(form.reason.errors) or "Not rejected: open the list again and decide from there.", "error")
    return redirect(url_for("staff.centre_change_list"))


def _decide(decision, done: str) -> None:
    try:
        change = decision()
    except centre_changes.NotFound:
        abort(404)
    except centre_changes.ChangeError as exc:
        flash(f"Nothing done: {exc}.", "error")
    else:
        flash(done.format(name=change.centre_name), "info")
