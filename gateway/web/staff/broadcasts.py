"""Broadcast pages (every role): the list, compose with a live preview, the broadcast's page
with its progress bar and delivery summary, approve / reject / cancel.

What may be seen, targeted and done is decided by :mod:`gateway.staff.broadcasts` from the
member's :class:`~gateway.staff.broadcasts.Actor`: a broadcast the member may not see is 404
here, a target outside their centres is refused on the form with the domain's words. Every
change writes an audit row: ``broadcast.created`` when composed and sent for approval or
release, ``broadcast.sent`` when it is released to go (by its author, or by the approval that
releases it — the row names the moment it starts), ``broadcast.approved``, ``.rejected`` (with
the reason), ``.cancelled``. The approve and reject forms carry the digest of what the page
showed (:func:`~gateway.staff.broadcasts.seen_digest`): a broadcast changed since is refused. The numbers — preview, progress, reasons — are the domain's, the
same the command line prints; :mod:`~gateway.web.staff.broadcast_text` words them.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import SelectChoice

from gateway.clock import SAST
from gateway.directory.catalogue import PROVINCES
from gateway.staff import audit
from gateway.staff import broadcasts as bc
from gateway.staff.accounts import APPROVER, CLERK, get_member
from gateway.staff.targets import TargetError
from gateway.store.models import Centre, Province, Service
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member, role_required
from gateway.web.staff.broadcast_text import Shown, asked_text, describe_target, shown, start_text
from gateway.web.staff.forms import (
    ActionForm,
    BroadcastForm,
    ClerkBroadcastForm,
    DecideForm,
    DecideRejectForm,
)


def _actor() -> bc.Actor:
    return bc.Actor.of(current_member())


def _visible_or_404(rt, actor: bc.Actor, broadcast_id: int):
    try:
        return bc.get_for(rt, actor, broadcast_id)
    except bc.NotFound:
        abort(404)


def _form(rt, actor: bc.Actor) -> BroadcastForm:
    """The compose form with the choices ``actor`` may pick from (a clerk: their centres)."""
    form = ClerkBroadcastForm() if actor.scope is not None else BroadcastForm()
    with rt.sessions() as s:
        query = (select(Centre.id, Centre.name, Province.name).outerjoin(Centre.province)
                 .order_by(Province.name, Centre.name))
        if actor.scope is not None:
            query = query.where(Centre.id.in_(actor.scope))
        form.centres.choices = [SelectChoice(cid, name, optgroup=group or "Other") for cid, name, group in s.execute(query)]
        form.service.choices = [SelectChoice(code, name) for code, name in
                                s.execute(select(Service.code, Service.name).order_by(Service.name))]
    form.province.choices = [SelectChoice(name) for _code, name, _aliases in PROVINCES]
    if request.method == "GET" and len(form.centres.choices) == 1:
        form.centres.data = [form.centres.choices[0].value]
    if request.method == "GET":
        form.at.suggest(rt.clock.local().date())
    return form


def _spec(form: BroadcastForm) -> str:
    """The target spec the form describes (``centre:3,7``); checked by the domain, not here."""
    kind = (form.kind.data or "").strip()
    if kind == "centre":
        if not form.centres.data:
            raise TargetError("choose at least one centre")
        return "centre:" + ",".join(str(c) for c in form.centres.data)
    value = {"province": form.province.data, "municipality": form.municipality.data,
             "service": form.service.data}.get(kind, "")
    return f"{kind}:{value or ''}" if kind != "all" else "all"


def _when(rt, form: BroadcastForm):
    """The requested send time (None: now), refused — on the field too — if it is not a real
    date and time or has already passed."""
    if form.when.data != "at":
        return None
    if form.at.errors or form.at.data is None:
        raise bc.BroadcastError(" ".join(form.at.errors) or "Give the date and time to send at, or choose Send now.")
    at = form.at.data.replace(tzinfo=SAST)  # the form's time is South African time
    try:
        bc.check_start(rt, at)
    except bc.BroadcastError as exc:
        form.at.errors = [*form.at.errors, str(exc)]
        raise
    return at


def _preview(rt, actor: bc.Actor, form: BroadcastForm) -> dict:
    """What the preview shows: the numbers and start, or the reason there are none."""
    try:
        at = _when(rt, form)
        if not (form.message.data or "").strip():
            return {"error": None}
        spec, preview = bc.compose(rt, _spec(form), form.message.data, form.language.data or None, actor)
    except (TargetError, bc.BroadcastError) as exc:
        return {"error": str(exc)}
    codepoint = f"U+{ord(preview.ucs2_because):04X}" if preview.ucs2_because else ""
    return {"error": None, "spec": spec, "preview": preview, "codepoint": codepoint,
            "start_text": start_text(bc.start_of(rt, at=at)), "asked": asked_text(at)}


@bp.get("/broadcasts/")
@role_required(CLERK, APPROVER)
def broadcast_list():
    rt, actor = runtime_of(), _actor()
    rows = bc.list_broadcasts(rt, 50, actor)
    with rt.sessions() as s:
        names = dict(s.execute(select(Centre.id, Centre.name)).all())
    items = [(row, describe_target(row.target, names), bc.progress(rt, row.id)) for row in rows]
    return render_template("staff/broadcasts.html", items=items)


@bp.route("/broadcasts/new", methods=["GET", "POST"])
@role_required(CLERK, APPROVER)
def broadcast_new():
    rt, actor = runtime_of(), _actor()
    form = _form(rt, actor)
    shown_preview = {"error": None}
    if form.validate_on_submit():
        shown_preview = _preview(rt, actor, form)
        if request.form.get("action") == "send" and not shown_preview["error"] and "preview" in shown_preview:
            return _send(rt, actor, form)
    return render_template("staff/broadcast_new.html", form=form, shown=shown_preview,
                           clerk=actor.scope is not None)


def _send(rt, actor: bc.Actor, form: BroadcastForm):
    member = current_member()
    try:
        row = bc.create(rt, actor, _spec(form), form.message.data, form.language.data or None, _when(rt, form))
        audit.record(rt, member, "broadcast.created", target=f"broadcast {row.id}", address=client_address(),
                     detail={"to": row.target, "language": row.language, "recipients": row.recipients})
        row = bc.submit(rt, actor, row.id)
    except (TargetError, bc.BroadcastError) as exc:
        flash(str(exc), "error")
        return redirect(url_for("staff.broadcast_new"))
    if row.status == "scheduled":
        _record_sent(rt, row)
        flash(f"Broadcast {row.id} is on its way.", "info")
    else:
        flash(f"Broadcast {row.id} waits for an approver.", "info")
    return redirect(url_for("staff.broadcast_page", broadcast_id=row.id))


def _record_sent(rt, row) -> None:
    audit.record(rt, current_member(), "broadcast.sent", target=f"broadcast {row.id}", address=client_address(),
                 detail={"starts": bc.utc(row.scheduled_at).isoformat(), "to": row.target})


@bp.post("/broadcasts/preview")
@role_required(CLERK, APPROVER)
def broadcast_preview():
    """The preview fragment the compose page's script asks for while the author types."""
    rt, actor = runtime_of(), _actor()
    form = _form(rt, actor)
    form.validate()  # errors on empty fields are the form's business, not the preview's
    return render_template("staff/_preview.html", shown=_preview(rt, actor, form))


def _page_data(rt, actor: bc.Actor, row) -> Shown:
    with rt.sessions() as s:
        names = dict(s.execute(select(Centre.id, Centre.name)).all())
    return shown(rt, row, describe_target(row.target, names))


@bp.get("/broadcasts/<int:broadcast_id>")
@role_required(CLERK, APPROVER)
def broadcast_page(broadcast_id: int):
    rt, actor = runtime_of(), _actor()
    row = _visible_or_404(rt, actor, broadcast_id)
    author = get_member(rt.sessions, row.author_id) if row.author_id else None
    approver = get_member(rt.sessions, row.approved_by) if row.approved_by else None
    can_decide = (row.status == "pending_approval" and actor.role != CLERK and actor.staff_id != row.author_id)
    can_cancel = row.status in bc.OPEN and (actor.role != CLERK or row.author_id == actor.staff_id)
    return render_template("staff/broadcast.html", row=row, view=_page_data(rt, actor, row), author=author,
                           approver=approver, can_decide=can_decide, can_cancel=can_cancel,
                           is_author=actor.staff_id == row.author_id, action_form=ActionForm(),
                           decide_form=DecideForm(formdata=None), reject_form=DecideRejectForm(formdata=None),
                           seen=bc.seen_digest(row))


@bp.get("/broadcasts/<int:broadcast_id>/progress")
@role_required(CLERK, APPROVER)
def broadcast_progress(broadcast_id: int):
    """The progress fragment the broadcast page polls (the same HTML the page starts with)."""
    rt, actor = runtime_of(), _actor()
    row = _visible_or_404(rt, actor, broadcast_id)
    return render_template("staff/_progress.html", row=row, view=_page_data(rt, actor, row))


@bp.post("/broadcasts/<int:broadcast_id>/approve")
@role_required(APPROVER)
def broadcast_approve(broadcast_id: int):
    rt, actor = runtime_of(), _actor()
    _visible_or_404(rt, actor, broadcast_id)
    form = DecideForm()
    if not form.validate_on_submit():
        flash(" ".join(form.seen.errors) or "Open the page again and decide.", "error")
    else:
        try:
            row = bc.approve(rt, actor, broadcast_id, form.seen.data)
        except bc.BroadcastError as exc:
            flash(str(exc), "error")
        else:
            audit.record(rt, current_member(), "broadcast.approved", target=f"broadcast {row.id}",
                         address=client_address())
            _record_sent(rt, row)
            flash(f"Approved: broadcast {row.id} is on its way.", "info")
    return redirect(url_for("staff.broadcast_page", broadcast_id=broadcast_id))


@bp.post("/broadcasts/<int:broadcast_id>/reject")
@role_required(APPROVER)
def broadcast_reject(broadcast_id: int):
    rt, actor = runtime_of(), _actor()
    _visible_or_404(rt, actor, broadcast_id)
    form = DecideRejectForm()
    if not form.validate_on_submit():
        flash(" ".join(form.reason.errors + form.seen.errors) or "Give the author a reason.", "error")
    else:
        try:
            row = bc.reject(rt, actor, broadcast_id, form.reason.data, form.seen.data)
        except bc.BroadcastError as exc:
            flash(str(exc), "error")
        else:
            audit.record(rt, current_member(), "broadcast.rejected", target=f"broadcast {row.id}",
                         address=client_address(), detail={"reason": row.rejected_reason})
            flash(f"Rejected broadcast {row.id}; the author sees your reason.", "info")
    return redirect(url_for("staff.broadcast_page", broadcast_id=broadcast_id))


@bp.post("/broadcasts/<int:broadcast_id>/cancel")
@role_required(CLERK, APPROVER)
def broadcast_cancel(broadcast_id: int):
    rt, actor = runtime_of(), _actor()
    _visible_or_404(rt, actor, broadcast_id)
    if ActionForm().validate_on_submit():
        try:
            bc.cancel(rt, actor, broadcast_id)
        except bc.BroadcastError as exc:
            flash(str(exc), "error")
        else:
            counts = bc.progress(rt, broadcast_id)
            audit.record(rt, current_member(), "broadcast.cancelled", target=f"broadcast {broadcast_id}",
                         address=client_address(), detail={"not_sent": counts["cancelled"]})
            flash(f"Cancelled broadcast {broadcast_id}: {counts['cancelled']} messages not sent.", "info")
    return redirect(url_for("staff.broadcast_page", broadcast_id=broadcast_id))
