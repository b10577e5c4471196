"""POPIA requests (admins only): look up one number, see or download everything held about it,
or delete it after a confirm step (the number typed again).

The confirm step is bound to the number looked up: its form carries a signed reference of that
number (a keyed hash, never the number) and of the admin who looked it up, valid for
:data:`CONFIRM_SECONDS`; the number typed must be the same one. A slip (another citizen's
number typed on the confirm page), a confirm page left open too long, another admin's page or a
forged reference deletes nothing and says why.

The number travels only in POST bodies (never in a URL, where proxies log it) and is never
written back into a page: pages show it masked, as the logs do; the JSON download is the
citizen's export and holds it whole. Every look-up and deletion writes an audit row with the
masked number and a keyed hash (:mod:`gateway.staff.privacy`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from config import mask_phone
from gateway.phones import InvalidPhone
from gateway.staff import privacy
from gateway.staff.accounts import ADMIN
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member, role_required
from gateway.web.staff.forms import PrivacyDeleteForm, PrivacyLookupForm

ACTIONS = ("show", "json", "delete")
CONFIRM_SECONDS = 15 * 60  # a confirm page older than this is looked up again
MISMATCH = ("The number you typed is not the number you looked up, so nothing was deleted. "
            "Type the number you looked up, or look the other number up first.")
EXPIRED = ("This confirmation has expired or is not one this page made, so nothing was deleted: "
           "look the number up again.")


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="staff.privacy.delete")


def _keyed(phone: str) -> str:
    """The number as a keyed hash: the page may carry it, nobody can read the number from it."""
    return hmac.new(str(current_app.secret_key).encode(), b"privacy-delete:" + phone.encode(),
                    hashlib.sha256).hexdigest()


def _binding(subject) -> str:
    """The confirm page's reference of ``subject`` and of the admin who looked it up."""
    return _signer().dumps({"number": _keyed(subject.phone), "by": current_member().id})


def _bound_problem(form, subject) -> str | None:
    """Why the typed ``subject`` may not be deleted from this confirm page, or None."""
    try:
        bound = _signer().loads(form.subject.data or "", max_age=CONFIRM_SECONDS)
    except BadSignature:  # SignatureExpired is one
        return EXPIRED
    if not isinstance(bound, dict) or bound.get("by") != current_member().id:
        return EXPIRED
    if not hmac.compare_digest(str(bound.get("number", "")), _keyed(subject.phone)):
        return MISMATCH
    return None


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
        return render_template("staff/privacy_delete.html",
                               form=PrivacyDeleteForm(formdata=None, subject=_binding(subject)),
                               shown=shown, counts=privacy.counts(held))
    privacy.record(rt, current_member(), "privacy.exported", subject, address=client_address(),
                   format=action, held=privacy.counts(held))
    if action == "json":
        filename = f"thusong-export-{privacy.reference(subject) or 'number'}.json"
        return Response(json.dumps(held, indent=2, ensure_ascii=False), mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "Cache-Control": "no-store"})
    return render_template("staff/privacy_export.html", form=PrivacyLookupForm(formdata=None),
                           shown=shown, held=held, counts=privacy.counts(held),
                           exported=datetime.fromisoformat(held["exported_at"]))


@bp.post("/privacy/delete")
@role_required(ADMIN)
def privacy_delete():
    form = PrivacyDeleteForm()
    subject = _subject(form) if form.validate_on_submit() else None
    problem = _bound_problem(form, subject) if subject is not None else None
    if problem:
        form.number.errors = [*form.number.errors, problem]
    if subject is None or problem or form.confirmed.data != "yes":
        form.number.data = ""
        if problem == EXPIRED:
            form.subject.data = ""
        return render_template("staff/privacy_delete.html", form=form, shown=None, counts=None), 400
    rt = runtime_of()
    removed = privacy.erase(rt, subject)
    privacy.record(rt, current_member(), "privacy.deleted", subject, address=client_address(), removed=removed)
    flash(f"Deleted {sum(removed.values())} rows and keys about {mask_phone(subject.phone)}; "
          "only an opt-out marker is kept, so no broadcast reaches the number.", "info")
    return redirect(url_for("staff.privacy_lookup"))
