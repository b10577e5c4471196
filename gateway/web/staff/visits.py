"""Service-visit pages (every role): the list, register, the visit's page with the messages it
sent (or, waiting for a decision, the exact messages the decision sends, to how many, at what
cost), change, approve / reject, cancel (and decide a request to cancel).

What may be seen and done is :mod:`gateway.staff.visits`' decision from the member's
:class:`~gateway.staff.broadcasts.Actor` (a clerk: their centres; a visit they may not see is
404 here). Details with warnings (a Sunday, outside the centre's hours, the same service that
day) come back on the form with the warnings and a box to tick. Every decision form carries
the digest of what its page showed; the domain refuses it if that changed. Every change writes
an audit row: ``visit.created`` (with the status it reached), ``visit.approved``,
``visit.rejected`` (with the reason), ``visit.edited`` (the version that replaces it, or the
same visit changed in place), ``visit.cancelled`` (with the reason),
``visit.cancel_requested`` (with the reason), ``visit.cancel_refused`` (with the reason);
warnings confirmed are in the row's detail.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import SelectChoice

from gateway.clock import SAST
from gateway.staff import audit, visit_plan, visits
from gateway.staff import broadcasts as bc
from gateway.staff import visit_cancel as cancelling
from gateway.staff.accounts import APPROVER, CLERK
from gateway.staff.visit_text import NOTICE
from gateway.store.models import Centre, Office
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member, role_required
from gateway.web.staff.forms import CancelVisitForm, DecideForm, DecideRejectForm, VisitForm
from gateway.web.staff.message_templates import picker
from gateway.web.staff.visit_notice import details_of, from_template, notice_preview

KIND = {"visit": "Notice", "told": "Correction", "centre": "Reminder"}  # by the broadcast's target kind


def _actor() -> bc.Actor:
    return bc.Actor.of(current_member())


def _visible_or_404(rt, actor: bc.Actor, visit_id: int):
    try:
        return visits.get_for(rt, actor, visit_id)
    except visits.NotFound:
        abort(404)


def _names(rt) -> dict[int, str]:
    with rt.sessions() as s:
        return dict(s.execute(select(Centre.id, Centre.name)).all())


def _form(rt, actor: bc.Actor, row=None) -> VisitForm:
    form = VisitForm(obj=row) if row is not None and request.method == "GET" else VisitForm()
    with rt.sessions() as s:
        query = select(Centre.id, Centre.name).order_by(Centre.name)
        if actor.scope is not None:
            query = query.where(Centre.id.in_(actor.scope))
        form.centre.choices = [SelectChoice(cid, name) for cid, name in s.execute(query)]
    if row is not None:
        form.centre.data = row.centre_id
        if request.method == "GET":  # an office's visit shows the office; an older one its text
            form.office.data = _office_code(rt, row.office_id)
            form.service.data = "" if form.office.data else row.service
    if request.method == "GET":
        form.notice.data = (row.notice if row is not None else None) or NOTICE
    return form


def _form_page(rt, actor: bc.Actor, form: VisitForm, row, shown: list[str], started: str | None = None):
    preview = notice_preview(rt, actor, form) if request.method == "POST" else None
    return render_template("staff/visit_form.html", form=form, row=row, warnings=shown, started=started,
                           picks=picker(rt, actor, notices=True), notice_preview=preview)


def _office_code(rt, office_id: int | None) -> str:
    with rt.sessions() as s:
        return (s.scalar(select(Office.code).where(Office.id == office_id)) if office_id else None) or ""


def _local(at) -> str:
    return bc.utc(at).astimezone(SAST).strftime("%a %-d %b %H:%M") if at else ""


def _facts(row) -> dict:
    return {"centre": row.centre_id, "service": row.service, "office_id": row.office_id, "day": row.day.isoformat(),
            "times": f"{row.starts:%H:%M}-{row.ends:%H:%M}", "status": row.status, "notice": row.notice}


@bp.post("/visits/notice-preview")
@role_required(CLERK, APPROVER)
def visit_notice_preview():
    """The notice fragment the visit form's script asks for while the author types (stores nothing)."""
    rt, actor = runtime_of(), _actor()
    form = _form(rt, actor)
    form.validate()  # a missing field is the form's business; the fragment says what it needs
    return render_template("staff/_notice_preview.html", notice_preview=notice_preview(rt, actor, form))


@bp.get("/visits/")
@role_required(CLERK, APPROVER)
def visit_list():
    rt = runtime_of()
    return render_template("staff/visits.html", rows=visits.list_visits(rt, _actor()), names=_names(rt))


def _confirmed(form: VisitForm) -> str | None:
    """The digest of the warnings the author ticked the box for, if they did."""
    return form.confirmed.data if form.confirm.data else None


def _unconfirmed(form: VisitForm, exc: visits.Unconfirmed) -> list[str]:
    """Show ``exc``'s warnings on the form, with the box unticked and their digest to confirm."""
    form.confirmed.data, form.confirm.data = exc.digest, False
    return exc.warnings


@bp.route("/visits/new", methods=["GET", "POST"])
@role_required(CLERK, APPROVER)
def visit_new():
    rt, actor = runtime_of(), _actor()
    form = _form(rt, actor)
    shown: list[str] = []
    if request.method == "GET" and len(form.centre.choices) == 1:
        form.centre.data = form.centre.choices[0].value
    started = from_template(rt, actor, form) if request.method == "GET" else None
    if form.validate_on_submit() and request.form.get("action") != "preview":
        try:
            details = details_of(rt, form)
            row = visits.create(rt, actor, form.centre.data, details, _confirmed(form))
        except visits.Unconfirmed as exc:
            shown = _unconfirmed(form, exc)
        except visits.VisitError as exc:
            flash(str(exc), "error")
        else:
            audit.record(rt, current_member(), "visit.created", target=f"visit {row.id}", address=client_address(),
                         detail={**_facts(row), **_checked(rt, row)})
            flash(f"Visit {row.id} is announced." if row.status == "approved"
                  else f"Visit {row.id} waits for an approver.", "info")
            return redirect(url_for("staff.visit_page", visit_id=row.id))
    return _form_page(rt, actor, form, None, shown, started)


def _checked(rt, row) -> dict:
    """The warnings the author confirmed, for the audit row (none: nothing to say)."""
    found = visits.warnings(rt, row.centre_id, row, {row.id, row.replaces_id} - {None})
    return {"confirmed": found} if found else {}


@bp.get("/visits/<int:visit_id>")
@role_required(CLERK, APPROVER)
def visit_page(visit_id: int):
    rt, actor = runtime_of(), _actor()
    row = _visible_or_404(rt, actor, visit_id)
    sent = [(KIND.get(b.target.split(":")[0], "Message"), b, _local(b.scheduled_at), bc.progress(rt, b.id))
            for b in visits.messages_of(rt, visit_id)]
    pending = row.status == "pending_approval"
    asked = row.status == "approved" and row.cancel_requested_by is not None
    plan = visit_plan.on_approval(rt, row) if pending else visit_plan.on_cancel(rt, row) if asked else []
    seen = (visit_plan.approval_digest(rt, row) if pending else visit_plan.cancel_digest(rt, row) if asked else "")
    approver = actor.role != CLERK
    can_decide = pending and approver and actor.staff_id != row.author_id
    can_decide_cancel = asked and approver and actor.staff_id != row.cancel_requested_by
    open_ = row.status in visits.OPEN and not asked
    return render_template(
        "staff/visit.html", row=row, names=_names(rt), sent=sent, can_decide=can_decide,
        can_decide_cancel=can_decide_cancel, asked=asked, can_change=open_, waiting=visits.pending_edit(rt, visit_id),
        plan=[(p, _local(p.at)) for p in plan], seen=seen,
        warnings=visits.warnings(rt, row.centre_id, row, {row.id, row.replaces_id} - {None}) if pending else [],
        cancel_plan=[(p, _local(p.at)) for p in visit_plan.on_cancel(rt, row)] if open_ else [],
        cancel_needs_approval=open_ and cancelling.cancel_needs_approval(rt, actor, row),
        decide_form=DecideForm(formdata=None, seen=seen), reject_form=DecideRejectForm(formdata=None, seen=seen),
        cancel_form=CancelVisitForm(formdata=None))


@bp.route("/visits/<int:visit_id>/edit", methods=["GET", "POST"])
@role_required(CLERK, APPROVER)
def visit_edit(visit_id: int):
    rt, actor = runtime_of(), _actor()
    row = _visible_or_404(rt, actor, visit_id)
    form = _form(rt, actor, row)
    shown: list[str] = []
    if form.validate_on_submit() and request.form.get("action") != "preview":
        try:
            changed = visits.edit(rt, actor, visit_id, details_of(rt, form), _confirmed(form))
        except visits.Unconfirmed as exc:
            shown = _unconfirmed(form, exc)
        except visits.VisitError as exc:
            flash(str(exc), "error")
        else:
            audit.record(rt, current_member(), "visit.edited", target=f"visit {visit_id}", address=client_address(),
                         detail={**_facts(changed), "version": changed.id, **_checked(rt, changed)})
            if changed.id == visit_id:
                flash(f"Visit {visit_id} changed; it still waits for an approver.", "info")
            elif changed.status == "approved":
                flash(f"Changed: visit {changed.id} replaces visit {visit_id}; those told get a correction.", "info")
            else:
                flash(f"The change (visit {changed.id}) waits for an approver; visit {visit_id} stands until then.", "info")
            return redirect(url_for("staff.visit_page", visit_id=changed.id))
    return _form_page(rt, actor, form, row, shown)


def _decided(visit_id: int):
    return redirect(url_for("staff.visit_page", visit_id=visit_id))


@bp.post("/visits/<int:visit_id>/approve")
@role_required(APPROVER)
def visit_approve(visit_id: int):
    rt, actor = runtime_of(), _actor()
    _visible_or_404(rt, actor, visit_id)
    form = DecideForm()
    if not form.validate_on_submit():
        flash(" ".join(form.seen.errors) or "Open the page again and decide.", "error")
        return _decided(visit_id)
    try:
        row = visits.approve(rt, actor, visit_id, form.seen.data)
    except visits.VisitError as exc:
        flash(str(exc), "error")
    else:
        audit.record(rt, current_member(), "visit.approved", target=f"visit {row.id}", address=client_address(),
                     detail=_facts(row))
        flash(f"Approved: visit {row.id} is announced.", "info")
    return _decided(visit_id)


@bp.post("/visits/<int:visit_id>/reject")
@role_required(APPROVER)
def visit_reject(visit_id: int):
    rt, actor = runtime_of(), _actor()
    _visible_or_404(rt, actor, visit_id)
    form = DecideRejectForm()
    if not form.validate_on_submit():
        flash(" ".join(form.reason.errors + form.seen.errors) or "Give the author a reason.", "error")
        return _decided(visit_id)
    try:
        row = visits.reject(rt, actor, visit_id, form.reason.data, form.seen.data)
    except visits.VisitError as exc:
        flash(str(exc), "error")
    else:
        audit.record(rt, current_member(), "visit.rejected", target=f"visit {row.id}", address=client_address(),
                     detail={"reason": row.rejected_reason})
        flash(f"Rejected visit {row.id}; the author sees your reason.", "info")
    return _decided(visit_id)


@bp.post("/visits/<int:visit_id>/cancel")
@role_required(CLERK, APPROVER)
def visit_cancel(visit_id: int):
    rt, actor = runtime_of(), _actor()
    before = _visible_or_404(rt, actor, visit_id)
    form = CancelVisitForm()
    if not form.validate_on_submit():
        flash(" ".join(form.reason.errors + form.confirm.errors) or "Open the page again.", "error")
        return _decided(visit_id)
    try:
        row = cancelling.cancel(rt, actor, visit_id, form.reason.data)
    except visits.VisitError as exc:
        flash(str(exc), "error")
        return _decided(visit_id)
    if row.status != "cancelled":
        audit.record(rt, current_member(), "visit.cancel_requested", target=f"visit {row.id}",
                     address=client_address(), detail={"reason": row.cancel_reason})
        flash(f"Visit {row.id} stays in force until an approver agrees to cancel it.", "info")
        return _decided(visit_id)
    _record_cancelled(rt, row, before.status)
    return _decided(visit_id)


def _record_cancelled(rt, row, was: str, asked_by: int | None = None) -> None:
    corrected = any(b.target.startswith("told:") for b in visits.messages_of(rt, row.id))
    detail = {"was": was, "reason": row.cancel_reason, "correction": corrected}
    audit.record(rt, current_member(), "visit.cancelled", target=f"visit {row.id}", address=client_address(),
                 detail=detail if asked_by is None else {**detail, "asked_by": asked_by})
    flash(f"Cancelled visit {row.id}." + (" Those told of it get a correction." if corrected else ""), "info")


@bp.post("/visits/<int:visit_id>/cancel/approve")
@role_required(APPROVER)
def visit_cancel_approve(visit_id: int):
    rt, actor = runtime_of(), _actor()
    before = _visible_or_404(rt, actor, visit_id)
    form = DecideForm()
    if not form.validate_on_submit():
        flash(" ".join(form.seen.errors) or "Open the page again and decide.", "error")
        return _decided(visit_id)
    try:
        row = cancelling.approve_cancel(rt, actor, visit_id, form.seen.data)
    except visits.VisitError as exc:
        flash(str(exc), "error")
    else:
        _record_cancelled(rt, row, before.status, before.cancel_requested_by)
    return _decided(visit_id)


@bp.post("/visits/<int:visit_id>/cancel/refuse")
@role_required(APPROVER)
def visit_cancel_refuse(visit_id: int):
    rt, actor = runtime_of(), _actor()
    before = _visible_or_404(rt, actor, visit_id)
    form = DecideRejectForm()
    if not form.validate_on_submit():
        flash(" ".join(form.reason.errors + form.seen.errors) or "Give a reason.", "error")
        return _decided(visit_id)
    try:
        row = cancelling.refuse_cancel(rt, actor, visit_id, form.reason.data, form.seen.data)
    except visits.VisitError as exc:
        flash(str(exc), "error")
    else:
        audit.record(rt, current_member(), "visit.cancel_refused", target=f"visit {row.id}",
                     address=client_address(), detail={"reason": row.rejected_reason, "asked": before.cancel_reason,
                             "asked_by": before.cancel_requested_by})
        flash(f"Visit {row.id} stays in force; whoever asked sees your reason.", "info")
    return _decided(visit_id)
