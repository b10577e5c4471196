"""Template pages (every role): the list of templates the member may use, with a link to start
a broadcast or a visit notice from each; new, edit, and delete behind a confirm page that says
what deleting removes. "Save as template" on the compose page posts here (``action=from_compose``):
it opens the new-template form filled with what was typed, and stores nothing until saved.

What may be seen and changed is :mod:`gateway.staff.templates`' decision from the member's
:class:`~gateway.staff.broadcasts.Actor` (a template the member may not use is 404 here; a
shared one changed without the role is refused with the domain's words). Every change writes
an audit row: ``template.created``, ``template.edited``, ``template.deleted`` (each with the
template's name, place and text, so a deletion can be undone by hand from the audit log).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from gateway.staff import audit, templates
from gateway.staff import broadcasts as bc
from gateway.staff.accounts import APPROVER, CLERK
from gateway.store.models import Centre, MessageTemplate
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member, role_required
from gateway.web.staff.forms import LANGUAGE_NAMES, ActionForm

SHARED = "shared"


class TemplateForm(FlaskForm):
    """A template's fields. ``place`` is a centre id or ``shared``; the domain checks it."""

    name = StringField("Name (e.g. Home Affairs unit visiting)",
                       validators=[DataRequired("Give the template a name."), Length(max=templates.NAME_CHARS)])
    text = TextAreaField("Text", validators=[DataRequired("Write the text."), Length(max=templates.TEXT_CHARS)])
    language = SelectField("Language", validate_choice=False,
                           choices=[SelectChoice("", "Every language")]
                           + [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()])
    place = SelectField("Kept for", validate_choice=False)


def _actor() -> bc.Actor:
    return bc.Actor.of(current_member())


def _names(rt) -> dict[int, str]:
    with rt.sessions() as s:
        return dict(s.execute(select(Centre.id, Centre.name)).all())


def _form(rt, actor: bc.Actor, **data) -> TemplateForm:
    """The form with the places ``actor`` may keep a template in (shared: approvers and admins)."""
    form = TemplateForm(**data)
    with rt.sessions() as s:
        query = select(Centre.id, Centre.name).order_by(Centre.name)
        if actor.scope is not None:
            query = query.where(Centre.id.in_(actor.scope))
        choices = [SelectChoice(str(cid), name) for cid, name in s.execute(query)]
    if actor.role in templates.KEEPERS_OF_SHARED:
        choices.insert(0, SelectChoice(SHARED, "Every centre (shared)"))
    form.place.choices = choices
    if not form.place.data and choices:
        form.place.data = choices[0].value
    return form


def _place(form: TemplateForm) -> int | None:
    """The centre id the form names (None: shared); a place that is no id is refused by the domain."""
    value = (form.place.data or "").strip()
    if value == SHARED:
        return None
    if not value.isdecimal() or len(value) > 9:
        raise templates.TemplateError("choose where the template is kept")
    return int(value)


def _get_or_404(rt, actor: bc.Actor, template_id: int) -> MessageTemplate:
    try:
        return templates.get_for(rt, actor, template_id)
    except templates.NotFound:
        abort(404)


def _detail(row: MessageTemplate) -> dict:
    return {"name": row.name, "centre": row.centre_id, "language": row.language, "text": row.text}


@bp.get("/templates/")
@role_required(CLERK, APPROVER)
def template_list():
    rt, actor = runtime_of(), _actor()
    rows = templates.list_for(rt, actor)
    items = [(row, templates.is_notice(row), templates.may_change(actor, row)) for row in rows]
    return render_template("staff/templates.html", items=items, names=_names(rt), languages=LANGUAGE_NAMES)


@bp.route("/templates/new", methods=["GET", "POST"])
@role_required(CLERK, APPROVER)
def template_new():
    rt, actor = runtime_of(), _actor()
    if request.method == "POST" and request.form.get("action") == "from_compose":
        return _from_compose(rt, actor)
    form = _form(rt, actor)
    if form.validate_on_submit():
        try:
            row = templates.create(rt, actor, form.name.data, form.text.data, form.language.data or None,
                                   _place(form))
        except templates.TemplateError as exc:
            flash(str(exc), "error")
        else:
            audit.record(rt, current_member(), "template.created", target=f"template {row.id}",
                         address=client_address(), detail=_detail(row))
            flash(f"Saved the template “{row.name}”.", "info")
            return redirect(url_for("staff.template_list"))
    return render_template("staff/template_form.html", form=form, row=None)


def _from_compose(rt, actor: bc.Actor):
    """The new-template form filled from the compose page's post (nothing stored yet; the
    app's CSRF protection has checked the post)."""
    centres = request.form.getlist("centres")
    form = _form(rt, actor, formdata=None, text=request.form.get("message", "")[:templates.TEXT_CHARS],
                 language=request.form.get("language", "")[:3])
    if centres and centres[0] in {c.value for c in form.place.choices}:
        form.place.data = centres[0]
    if not form.text.data.strip():
        flash("Write the message first, then save it as a template.", "error")
    return render_template("staff/template_form.html", form=form, row=None)


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
@role_required(CLERK, APPROVER)
def template_edit(template_id: int):
    rt, actor = runtime_of(), _actor()
    row = _get_or_404(rt, actor, template_id)
    if not templates.may_change(actor, row):
        abort(403)
    place = SHARED if row.centre_id is None else str(row.centre_id)
    form = (_form(rt, actor, formdata=None, name=row.name, text=row.text, language=row.language or "", place=place)
            if request.method == "GET" else _form(rt, actor))
    if form.validate_on_submit():
        try:
            changed = templates.edit(rt, actor, template_id, form.name.data, form.text.data,
                                     form.language.data or None, _place(form))
        except templates.TemplateError as exc:
            flash(str(exc), "error")
        else:
            audit.record(rt, current_member(), "template.edited", target=f"template {template_id}",
                         address=client_address(), detail={**_detail(changed), "was": _detail(row)})
            flash(f"Saved the template “{changed.name}”.", "info")
            return redirect(url_for("staff.template_list"))
    return render_template("staff/template_form.html", form=form, row=row)


@bp.route("/templates/<int:template_id>/delete", methods=["GET", "POST"])
@role_required(CLERK, APPROVER)
def template_delete(template_id: int):
    """A confirm page saying what deleting removes; only its button deletes."""
    rt, actor = runtime_of(), _actor()
    row = _get_or_404(rt, actor, template_id)
    if not templates.may_change(actor, row):
        abort(403)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            gone = templates.delete(rt, actor, template_id)
        except templates.TemplateError as exc:
            flash(str(exc), "error")
        else:
            audit.record(rt, current_member(), "template.deleted", target=f"template {template_id}",
                         address=client_address(), detail=_detail(gone))
            flash(f"Deleted the template “{gone.name}”. Broadcasts and visits started from it are not changed.",
                  "info")
        return redirect(url_for("staff.template_list"))
    return render_template("staff/template_delete.html", row=row, form=form, names=_names(rt))


def picker(rt, actor: bc.Actor, notices: bool) -> list[MessageTemplate]:
    """The templates a page's picker offers: visit notice wordings, or broadcast texts."""
    return [row for row in templates.list_for(rt, actor) if templates.is_notice(row) == notices]
