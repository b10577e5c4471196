"""Service-visit pages (every role): the list, register, the visit's page with the messages it
sent, change, approve / reject / cancel.

What may be seen and done is :mod:`gateway.staff.visits`' decision from the member's
:class:`~gateway.staff.broadcasts.Actor` (a clerk: their centres; a visit they may not see is
404 here). Every change writes an audit row: ``visit.created`` (with the status it reached),
``visit.approved``, ``visit.rejected`` (with the reason), ``visit.edited`` (the version that
replaces it, or the same visit changed in place) and ``visit.cancelled``.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import SelectChoice

from gateway.clock import SAST
from gateway.staff import audit, visits
from gateway.staff import broadcasts as bc
from gateway.staff.accounts import APPROVER, CLERK
from gateway.store.models import Centre
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member, role_required
from gateway.web.staff.forms import ActionForm, RejectForm, VisitForm

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
    return form


def _details(rt, form: VisitForm) -> visits.Details:
    return visits.check(rt, form.service.data or "", form.day.data, form.starts.data, form.ends.data)


def _local(at) -> str:
    return bc.utc(at).astimezone(SAST).strftime("%a %-d %b %H:%M") if at else ""


def _facts(row) -> dict:
    return {"centre": row.centre_id, "service": row.service, "day": row.day.isoformat(),
            "times": f"{row.starts:%H:%M}-{row.ends:%H:%M}", "status": row.status}


@bp.get("/visits/")
@role_required(CLERK, APPROVER)
def visit_list():
    rt = runtime_of()
    return render_template("staff/visits.html", rows=visits.list_visits(rt, _actor()), names=_names(rt))


@bp.route("/visits/new", methods=["GET", "POST"])
@role_required(CLERK, APPROVER)
def visit_new():
    rt, actor = runtime_of(), _actor()
    form = _form(rt, actor)
    if request.method == "GET" and len(form.centre.choices) == 1:
        form.centre.data = form.centre.choices[0].value
    if form.validate_on_submit():
        try:
            row = visits.create(rt, actor, form.centre.data, _details(rt, form))
        except visits.VisitError as exc:
            flash(str(exc), "error")
        else:
            audit.record(rt, current_member(), "visit.created", target=f"visit {row.id}", address=client_address(),
                         detail=_facts(row))
            flash(f"Visit {row.id} is announced." if row.status == "approved"
                  else f"Visit {row.id} waits for an approver.", "info")
            return redirect(url_for("staff.visit_page", visit_id=row.id))
    return render_template("staff/visit_form.html", form=form, row=None)


@bp.get("/visits/<int:visit_id>")
@role_required(CLERK, APPROVER)
def visit_page(visit_id: int):
    rt, actor = runtime_of(), _actor()
    row = _visible_or_404(rt, actor, visit_id)
    sent = [(KIND.get(b.target.split(":")[0], "Message"), b, _local(b.scheduled_at), bc.progress(rt, b.id))
            for b in visits.messages_of(rt, visit_id)]
    can_decide = row.status == "pending_approval" and actor.role != CLERK and actor.staff_id != row.author_id
    return render_template("staff/visit.html", row=row, names=_names(rt), sent=sent, can_decide=can_decide,
                           can_change=row.status in visits.OPEN, waiting=visits.pending_edit(rt, visit_id),
                           action_form=ActionForm(), reject_form=RejectForm())


@bp.route("/visits/<int:visit_id>/edit", methods=["GET", "POST"])
@role_required(CLERK, APPROVER)
def visit_edit(visit_id: int):
    rt, actor = runtime_of(), _actor()
    row = _visible_or_404(rt, actor, visit_id)
    form = _form(rt, actor, row)
    if form.validate_on_submit():
        try:
            changed = visits.edit(rt, actor, visit_id, _details(rt, form))
        except visits.VisitError as exc:
            flash(str(exc), "error")
        else:
            audit.record(rt, current_member(), "visit.edited", target=f"visit {visit_id}", address=client_address(),
                         detail={**_facts(changed), "version": changed.id})
            if changed.id == visit_id:
                flash(f"Visit {visit_id} changed; it still waits for an approver.", "info")
            elif changed.status == "approved":
                flash(f"Changed: visit {changed.id} replaces visit {visit_id}; those told get a correction.", "info")
            else:
                flash(f"The change (visit {changed.id}) waits for an approver; visit {visit_id} stands until then.", "info")
            return redirect(url_for("staff.visit_page", visit_id=changed.id))
    return render_template("staff/visit_form.html", form=form, row=row)


@bp.post("/visits/<int:visit_id>/approve")
@role_required(APPROVER)
def visit_approve(visit_id: int):
    rt, actor = runtime_of(), _actor()
    _visible_or_404(rt, actor, visit_id)
    if ActionForm().validate_on_submit():
        try:
            row = visits.approve(rt, actor, visit_id)
        except visits.VisitError as exc:
            flash(str(exc), "error")
        else:
            audit.record(rt, current_member(), "visit.approved", target=f"visit {row.id}", address=client_address(),
                         detail=_facts(row))
            flash(f"Approved: visit {row.id} is announced.", "info")
    return redirect(url_for("staff.visit_page", visit_id=visit_id))


@bp.post("/visits/<int:visit_id>/reject")
@role_required(APPROVER)
def visit_reject(visit_id: int):
    rt, actor = runtime_of(), _actor()
    _visible_or_404(rt, actor, visit_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash(" ".join(form.reason.errors) or "Give the author a reason.", "error")
    else:
        try:
            row = visits.reject(rt, actor, visit_id, form.reason.data)
        except visits.VisitError as exc:
            flash(str(exc), "error")
        else:
            audit.record(rt, current_member(), "visit.rejected", target=f"visit {row.id}", address=client_address(),
                         detail={"reason": row.rejected_reason})
            flash(f"Rejected visit {row.id}; the author sees your reason.", "info")
    return redirect(url_for("staff.visit_page", visit_id=visit_id))


@bp.post("/visits/<int:visit_id>/cancel")
@role_required(CLERK, APPROVER)
def visit_cancel(visit_id: int):
    rt, actor = runtime_of(), _actor()
    before = _visible_or_404(rt, actor, visit_id)
    if ActionForm().validate_on_submit():
        try:
            row = visits.cancel(rt, actor, visit_id)
        except visits.VisitError as exc:
            flash(str(exc), "error")
        else:
            corrected = any(b.target.startswith("told:") for b in visits.messages_of(rt, visit_id))
            audit.record(rt, current_member(), "visit.cancelled", target=f"visit {row.id}", address=client_address(),
                         detail={"was": before.status, "correction": corrected})
            flash(f"Cancelled visit {row.id}." + (" Those told of it get a correction." if corrected else ""), "info")
    return redirect(url_for("staff.visit_page", visit_id=visit_id))
