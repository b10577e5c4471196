"""POPIA requests (admins only): look up one number, see or download everything held about it,
or delete it after a confirm step (the number typed again).

The number travels only in POST bodies (never in a URL, where proxies log it) and is never
written back into a page: pages show it masked, as the logs do; the JSON download is the
citizen's export and holds it whole. Every look-up and deletion writes an audit row with the
masked number and a keyed hash (:mod:`gateway.staff.privacy`).
"""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, request, url_for

from config import mask_phone
from gateway.phones import InvalidPhone
from gateway.staff import privacy
from gateway.staff.accounts import ADMIN
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member, role_required
from gateway.web.staff.forms import PrivacyDeleteForm, PrivacyLookupForm

ACTIONS = ("show", "json", "delete")


def _subject(form):
    try:
        return privacy.subject_of(runtime_of(), form.number.data)
    except InvalidPhone as exc:
        form.number.errors = [*form.number.errors, f"Not a phone number we can use: {exc}."]
        return None


@bp.route("/privacy", methods=["GET", "POST"])
@role_required(ADMIN)
def privacy_lookup():
    form = PrivacyLookupForm()
    action = request.form.get("action", "show")
    subject = _subject(form) if form.validate_on_submit() and action in ACTIONS else None
    if subject is None:
        form.number.data = ""  # never echo what was typed
        return render_template("staff/privacy.html", form=form)
    rt = runtime_of()
    held = privacy.export(rt, subject)
    shown = mask_phone(subject.phone)
    if action == "delete":
        return render_template("staff/privacy_delete.html", form=PrivacyDeleteForm(formdata=None),
                               shown=shown, counts=privacy.counts(held))
    privacy.record(rt, current_member(), "privacy.exported", subject, address=client_address(),
                   format=action, held=privacy.counts(held))
    if action == "json":
        filename = f"thusong-export-{privacy.reference(subject) or 'number'}.json"
        return Response(json.dumps(held, indent=2, ensure_ascii=False), mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "Cache-Control": "no-store"})
    return render_template("staff/privacy_export.html", form=PrivacyLookupForm(formdata=None),
                           shown=shown, held=held, counts=privacy.counts(held))


@bp.post("/privacy/delete")
@role_required(ADMIN)
def privacy_delete():
    form = PrivacyDeleteForm()
    subject = _subject(form) if form.validate_on_submit() else None
    if subject is None or form.confirmed.data != "yes":
        form.number.data = ""
        return render_template("staff/privacy_delete.html", form=form, shown=None, counts=None), 400
    rt = runtime_of()
    removed = privacy.erase(rt, subject)
    privacy.record(rt, current_member(), "privacy.deleted", subject, address=client_address(), removed=removed)
    flash(f"Deleted {sum(removed.values())} rows and keys about {mask_phone(subject.phone)}; "
          "only an opt-out marker is kept, so no broadcast reaches the number.", "info")
    return redirect(url_for("staff.privacy_lookup"))
