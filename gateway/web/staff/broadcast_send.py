"""Composing and sending a broadcast (every role): compose with a live preview, then a confirm
page — "Send 205 text messages?" — and only its button sends; and a test SMS of the exact
text to the sender's own phone from either page.

All of it is one form posted to ``/staff/broadcasts/new``; the button pressed (``action``)
says what to do: ``preview`` shows the compose page with its numbers; ``check`` (and a
``send`` that carries no confirm digest) shows the confirm page, storing nothing; ``edit``
goes back to compose with what was typed; ``send`` from the confirm page stores and submits
the broadcast if :func:`gateway.staff.send_check.confirm` finds it is still what the page
showed (else the page is shown again with what moved); ``test`` sends the test SMS and shows
the page it came from again. Audit rows: ``broadcast.created`` and ``broadcast.sent`` as
for any broadcast, ``broadcast.test_sent`` for a test (the phone masked).
"""

from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import SelectChoice

from config import mask_phone
from gateway.clock import SAST
from gateway.directory.catalogue import PROVINCES
from gateway.staff import audit, own_phone, send_check
from gateway.staff import broadcasts as bc
from gateway.staff.accounts import APPROVER, CLERK
from gateway.staff.targets import TargetError
from gateway.store.models import Centre, Province, Service
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member, role_required
from gateway.web.staff.broadcast_text import asked_text, confirm_start, describe_target, start_text
from gateway.web.staff.compose_from import Started, from_broadcast, from_template, rejected_original
from gateway.web.staff.forms import BroadcastForm, ClerkBroadcastForm
from gateway.web.staff.message_templates import picker

REFUSED = (TargetError, bc.BroadcastError)


def _actor() -> bc.Actor:
    return bc.Actor.of(current_member())


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


def _when(rt, form: BroadcastForm) -> datetime | None:
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
    except REFUSED as exc:
        return {"error": str(exc)}
    codepoint = f"U+{ord(preview.ucs2_because):04X}" if preview.ucs2_because else ""
    return {"error": None, "spec": spec, "preview": preview, "codepoint": codepoint,
            "start_text": start_text(bc.start_of(rt, at=at)), "asked": asked_text(at)}


def _compose_page(rt, actor: bc.Actor, form: BroadcastForm, shown: dict | None = None,
                  started: Started | None = None):
    return render_template("staff/broadcast_new.html", form=form, shown=shown or {"error": None},
                           clerk=actor.scope is not None, member=current_member(), started=started,
                           original=rejected_original(rt, actor, form), picks=picker(rt, actor, notices=False))


def _started(rt, actor: bc.Actor, form: BroadcastForm) -> Started | None:
    """Fill a new compose page from ``?template=``, ``?copy=`` or ``?resubmit=`` (an id the
    member may not see fills nothing and says so)."""
    for param in ("template", "copy", "resubmit"):
        raw = request.args.get(param, "")
        if not raw:
            continue
        number = int(raw) if raw.isdecimal() and len(raw) <= 9 else 0
        started = (from_template(rt, actor, form, number) if param == "template"
                   else from_broadcast(rt, actor, form, number, resubmit=param == "resubmit"))
        if started is None:
            what = "broadcast template (a visit notice's starts a visit)" if param == "template" else "broadcast"
            flash(f"No {what} {raw[:12]} that you may use: the form is blank.", "error")
        return started
    return None


@bp.route("/broadcasts/new", methods=["GET", "POST"])
@role_required(CLERK, APPROVER)
def broadcast_new():
    rt, actor = runtime_of(), _actor()
    form = _form(rt, actor)
    if request.method == "GET":
        return _compose_page(rt, actor, form, started=_started(rt, actor, form))
    if not form.validate_on_submit():
        return _compose_page(rt, actor, form)
    action = request.form.get("action", "preview")
    if action == "test":
        _send_test(rt, form)
        if form.step.data == "confirm":
            return _checked(rt, actor, form, fresh=False)
    if action in ("check", "send"):
        return _checked(rt, actor, form, fresh=action == "check")
    return _compose_page(rt, actor, form, _preview(rt, actor, form))


def _checked(rt, actor: bc.Actor, form: BroadcastForm, fresh: bool):
    """The confirm page, or — for a ``send`` bound to what it showed — the broadcast sent."""
    try:
        at = _when(rt, form)
        shown = send_check.check(rt, actor, _spec(form), form.message.data, form.language.data or None, at)
    except REFUSED as exc:
        return _compose_page(rt, actor, form, {"error": str(exc)})
    token = form.token.data if not fresh and len(form.token.data or "") == send_check.TOKEN_CHARS else None
    moved = None
    if not fresh and form.seen.data and token and form.shown_count() is not None:
        try:
            send_check.confirm(rt, actor, shown.spec, form.message.data, shown.language, at,
                               form.seen.data, form.shown_count(), token)
        except send_check.Moved as exc:
            moved = str(exc)
        except REFUSED as exc:
            return _compose_page(rt, actor, form, {"error": str(exc)})
        else:
            if request.form.get("action") == "send":
                return _send(rt, actor, form, at, token)
    return _confirm_page(rt, actor, form, shown, token or send_check.new_token(), moved)


def _confirm_page(rt, actor: bc.Actor, form: BroadcastForm, shown: send_check.Check, token: str,
                  moved: str | None):
    recipients = shown.preview.recipients
    form.seen.data = send_check.digest_of(actor, shown, recipients, token)
    form.shown_recipients.data, form.token.data, form.step.data = str(recipients), token, "confirm"
    with rt.sessions() as s:
        names = dict(s.execute(select(Centre.id, Centre.name)).all())
    p = shown.preview
    return render_template("staff/broadcast_confirm.html", form=form, check=shown, p=p, moved=moved,
                           target=describe_target(shown.spec, names), member=current_member(),
                           clerk=actor.scope is not None, start=confirm_start(shown.start, shown.at),
                           codepoint=f"U+{ord(p.ucs2_because):04X}" if p.ucs2_because else "")


def _send(rt, actor: bc.Actor, form: BroadcastForm, at: datetime | None, token: str):
    member = current_member()
    try:
        send_check.claim(rt, token)
    except send_check.AlreadySent as exc:
        flash(str(exc), "error")
        return redirect(url_for("staff.broadcast_list"))
    original = rejected_original(rt, actor, form)
    resubmits = {"resubmits": original.id} if original else {}
    try:
        row = bc.create(rt, actor, _spec(form), form.message.data, form.language.data or None, at,
                        resubmits=original.id if original else None)
        audit.record(rt, member, "broadcast.created", target=f"broadcast {row.id}", address=client_address(),
                     detail={"to": row.target, "language": row.language, "recipients": row.recipients, **resubmits})
        row = bc.submit(rt, actor, row.id)
    except REFUSED as exc:
        flash(str(exc), "error")
        return redirect(url_for("staff.broadcast_new"))
    again = f" (resubmitting broadcast {original.id})" if original else ""
    if row.status == "scheduled":
        record_sent(rt, row)
        flash(f"Broadcast {row.id}{again} is on its way.", "info")
    else:
        flash(f"Broadcast {row.id}{again} is submitted: it waits for an approver.", "info")
    return redirect(url_for("staff.broadcast_page", broadcast_id=row.id))


def record_sent(rt, row) -> None:
    """The ``broadcast.sent`` audit row: ``row`` is released, starting at its ``scheduled_at``."""
    audit.record(rt, current_member(), "broadcast.sent", target=f"broadcast {row.id}", address=client_address(),
                 detail={"starts": bc.utc(row.scheduled_at).isoformat(), "to": row.target})


def _send_test(rt, form: BroadcastForm) -> None:
    """The exact text to the member's own phone (flashed: sent, or why not)."""
    member = current_member()
    try:
        sent = own_phone.send_to_self(rt, member, form.message.data, form.language.data or None)
    except REFUSED as exc:
        flash(str(exc), "error")
        return
    audit.record(rt, member, "broadcast.test_sent", target=f"message {sent.message_id}", address=client_address(),
                 detail={"to": mask_phone(member.phone), "language": form.language.data or None})
    flash(f"Test SMS sent to your phone {mask_phone(member.phone)} ({sent.left_this_hour} more allowed this hour). "
          "Nothing was sent to anyone else.", "info")


@bp.post("/broadcasts/preview")
@role_required(CLERK, APPROVER)
def broadcast_preview():
    """The preview fragment the compose page's script asks for while the author types."""
    rt, actor = runtime_of(), _actor()
    form = _form(rt, actor)
    form.validate()  # errors on empty fields are the form's business, not the preview's
    return render_template("staff/_preview.html", shown=_preview(rt, actor, form))
