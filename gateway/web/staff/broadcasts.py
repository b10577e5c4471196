"""Broadcast pages (every role): the list (filtered by state and author, newest first, each
row's figures asked again until they settle), the broadcast's page with its progress bar and
delivery summary, approve / reject / cancel. Composing and sending is
:mod:`~gateway.web.staff.broadcast_send`'s.

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

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from gateway.staff import audit
from gateway.staff import broadcasts as bc
from gateway.staff.accounts import APPROVER, CLERK, get_member
from gateway.store.models import BROADCAST_STATES, Broadcast, Centre
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member, role_required
from gateway.web.staff.broadcast_send import record_sent
from gateway.web.staff.broadcast_text import (
    Shown,
    describe_target,
    list_poll_ms,
    shown,
    start_text,
)
from gateway.web.staff.forms import ActionForm, DecideForm, DecideRejectForm
from gateway.web.staff.sa_words import sast


def _actor() -> bc.Actor:
    return bc.Actor.of(current_member())


def _visible_or_404(rt, actor: bc.Actor, broadcast_id: int):
    try:
        return bc.get_for(rt, actor, broadcast_id)
    except bc.NotFound:
        abort(404)


@dataclass(frozen=True)
class Row:
    """One broadcast on the list, worded: its target, when it was written and when it went (or
    starts), its figures, whether they have settled and whether Cancel would still stop anything."""

    row: Broadcast
    target: str
    created: str
    went: str
    counts: dict[str, int]
    poll_ms: int
    can_cancel: bool


def _row(rt, actor: bc.Actor, row: Broadcast, names: dict[int, str]) -> Row:
    counts = bc.progress(rt, row.id)
    went = ""
    if row.status in ("sending", "paused", "sent") or (row.status == "cancelled" and counts["total"]):
        went = sast(row.scheduled_at)
    elif row.status == "scheduled":
        went = start_text(bc.start_of(rt, row))
    return Row(row, describe_target(row.target, names), sast(row.created_at), went, counts,
               list_poll_ms(rt, row, counts), _may_cancel(actor, row) and bc.cancellable(row, counts["queued"]))


def _may_cancel(actor: bc.Actor, row: Broadcast) -> bool:
    return actor.role != CLERK or row.author_id == actor.staff_id


def _centre_names(rt) -> dict[int, str]:
    with rt.sessions() as s:
        return dict(s.execute(select(Centre.id, Centre.name)).all())


@bp.get("/broadcasts/")
@role_required(CLERK, APPROVER)
def broadcast_list():
    """The newest broadcasts first, filtered by ``state`` and ``author`` (an id, or ``me``)."""
    rt, actor = runtime_of(), _actor()
    state = request.args.get("state", "")
    state = state if state in BROADCAST_STATES else ""
    author = request.args.get("author", "")
    author_id = actor.staff_id if author == "me" else int(author) if author.isdecimal() and len(author) < 10 else None
    if author_id is None:
        author = ""
    rows = bc.list_broadcasts(rt, 50, actor, status=state or None, author_id=author_id)
    names = _centre_names(rt)
    items = [_row(rt, actor, row, names) for row in rows]
    return render_template("staff/broadcasts.html", items=items, states=BROADCAST_STATES, state=state,
                           author=author, authors=bc.authors(rt, actor), action_form=ActionForm(),
                           moving=any(item.poll_ms for item in items))


@bp.get("/broadcasts/<int:broadcast_id>/row")
@role_required(CLERK, APPROVER)
def broadcast_row(broadcast_id: int):
    """One row of the list (its cells), which the list's script asks for until it settles."""
    rt, actor = runtime_of(), _actor()
    row = _visible_or_404(rt, actor, broadcast_id)
    return render_template("staff/_broadcast_row.html", item=_row(rt, actor, row, _centre_names(rt)),
                           action_form=ActionForm())


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
    can_cancel = _may_cancel(actor, row) and bc.cancellable(row, bc.progress(rt, row.id)["queued"])
    return render_template("staff/broadcast.html", row=row, view=_page_data(rt, actor, row), author=author,
                           resubmitted=_resubmitted(rt, actor, row),
                           approver=approver, can_decide=can_decide, can_cancel=can_cancel,
                           is_author=actor.staff_id == row.author_id, action_form=ActionForm(),
                           decide_form=DecideForm(formdata=None), reject_form=DecideRejectForm(formdata=None),
                           seen=bc.seen_digest(row))


def _resubmitted(rt, actor: bc.Actor, row: Broadcast) -> Broadcast | None:
    """The rejected broadcast ``row`` resubmits, if the viewer may see it (its reason is shown)."""
    if row.resubmits_id is None:
        return None
    try:
        return bc.get_for(rt, actor, row.resubmits_id)
    except bc.NotFound:
        return None


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
            record_sent(rt, row)
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
    if request.form.get("back") == "list":
        return redirect(url_for("staff.broadcast_list"))
    return redirect(url_for("staff.broadcast_page", broadcast_id=broadcast_id))
