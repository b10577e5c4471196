"""Centres pages: list and search (every role, their own centres), edit a centre (clerks for
their centres, admins for all; under the two-person rule a clerk's name, address and phone
wait for an approver, and the page says so), CSV export and import with a dry-run preview
first (admins).

What the pages do, and who may do it, is :mod:`gateway.staff.centres`; these views only turn
its refusals into answers: a centre the account may not see is 404 (typed URL or not), a form
whose hidden centre id is not the centre in the URL is 403, a non-admin on the CSV pages 403.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from gateway.dialogue.offices import all_offices
from gateway.directory.hours import DAY_LABELS, DAYS
from gateway.staff import centre_changes, centre_import, centres
from gateway.staff.accounts import ADMIN, CLERK
from gateway.staff.centre_offices import clean_offices, set_offices
from gateway.staff.centres import CentreError, CentreNotFound
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member, role_required
from gateway.web.staff.forms import CentreForm, ConfirmImportForm, ImportForm, field_words

UPLOAD_LIMIT = 2 * 1024 * 1024  # a nationwide directory is a few hundred KiB (nginx allows the same)
DAY_FIELDS = [(f"hours_{day}", label) for day, label in zip(DAYS, DAY_LABELS, strict=True)]


@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, _values: dict | None) -> None:
    """Let an admin's CSV upload be larger than the app-wide limit. Set here, not in the view:
    URL preprocessors run before the CSRF check, which is the first to read the body."""
    if endpoint == "staff.centres_import" and current_user.is_authenticated and current_member().is_admin:
        request.max_content_length = UPLOAD_LIMIT


@bp.get("/centres/")
def centre_list():
    q = request.args.get("q", "")[:100]
    found = centres.search_centres(runtime_of(), current_member(), q)
    return render_template("staff/centres.html", centres=found, q=q, may_edit=current_member().role in (ADMIN, CLERK))


@bp.route("/centres/<int:centre_id>", methods=["GET", "POST"])
@role_required(CLERK)
def centre_edit(centre_id: int):
    rt, member = runtime_of(), current_member()
    try:
        record = centres.get_centre(rt, member, centre_id)
    except CentreNotFound:
        abort(404)
    blocks = centres.service_blocks(rt)
    latest = centre_changes.latest(rt, member, centre_id)
    held = centre_changes.needs_approval(rt, member)
    form = CentreForm(data=None if request.method == "POST" else _initial(record, latest if held else None))
    if form.validate_on_submit():
        if form.centre_id.data != centre_id:
            abort(403)  # the hidden id was changed: never apply a form to another centre
        try:
            offices = clean_offices(form.offices.data)  # refused before anything is saved
            edit = centres.edit_centre(rt, member, centre_id, _submitted(form), client_address())
            # A fixed list like the services: applied at once, audited, never held for an approver.
            edit = replace(edit, applied={**edit.applied,
                                          **set_offices(rt, member, centre_id, offices, client_address())})
        except CentreNotFound:
            abort(404)
        except (CentreError, centre_changes.ChangeError) as exc:
            _show_error(form, exc)
        else:
            flash(_saved(form.name.data if not edit.waiting else record.name, edit), "info")
            return redirect(url_for("staff.centre_edit", centre_id=centre_id))
    elif request.method == "POST" and form.centre_id.data not in (None, centre_id):
        abort(403)
    return render_template("staff/centre_edit.html", form=form, record=record, blocks=blocks, days=DAY_FIELDS,
                           chosen=set(form.services.data or ()), latest=latest, held=held,
                           offices=all_offices(rt), chosen_offices=set(form.offices.data or ()))


def _saved(name: str, edit: centres.Edit) -> str:
    """The line that tells the editor what became of their edit."""
    said = [f"Saved {name}: {', '.join(field_words(edit.applied))}."] if edit.applied else []
    if edit.waiting:
        said.append(f"Your change of the {', '.join(field_words(edit.waiting))} waits for an approver: "
                    "citizens read the old text until it is approved.")
    elif edit.withdrawn:
        said.append("Your change waiting for approval is withdrawn: citizens read the text as it is.")
    return " ".join(said) or "Nothing changed."


def _initial(record: centres.CentreRecord, pending: centre_changes.Change | None = None) -> dict:
    """The form as first shown: the centre as stored, with the text of a change of theirs still
    waiting for approval (what the clerk asked for, not lost on the next save)."""
    data = {"centre_id": record.id, "name": record.name, "address": record.address, "phone": record.phone,
            "latitude": record.latitude, "longitude": record.longitude, "active": record.active,
            "services": sorted(record.services), "offices": list(record.offices)}
    data.update({field: hours for (field, _label), hours in zip(DAY_FIELDS, record.hours, strict=True)})
    if pending is not None and pending.status == "pending":
        data.update({field: new for field, (_old, new) in pending.diff.items()})
    return data


def _submitted(form: CentreForm) -> dict:
    values = {name: getattr(form, name).data for name in centres.EDITABLE}
    values["services"] = form.services.data or []
    return values


def _show_error(form: CentreForm, exc: CentreError | centre_changes.ChangeError) -> None:
    field = getattr(form, exc.field, None) if getattr(exc, "field", None) else None
    if field is not None:
        field.errors = [*field.errors, str(exc)]
    flash(f"Not saved: {exc}", "error")


@bp.get("/centres/export.csv")
@role_required(ADMIN)
def centres_export():
    text = centres.export_csv(runtime_of(), current_member(), client_address())
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=thusong_centres.csv"})


@bp.route("/centres/import", methods=["GET", "POST"])
@role_required(ADMIN)
def centres_import():
    """The upload: held, and its preview queued for a worker (it took 25 s to 86 s here, on the
    web process that USSD hops needed); the answer is the page that follows the job."""
    rt, member = runtime_of(), current_member()
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            flash("The file is not UTF-8 text: save it from the spreadsheet as \"CSV UTF-8\".", "error")
        else:
            job_id = centre_import.start_preview(rt, member, text, upload.filename or "the file")
            return redirect(url_for("staff.centres_import_job", job_id=job_id))
    return render_template("staff/centres_import.html", form=form, report=None, preview=False)


@bp.post("/centres/import/confirm")
@role_required(ADMIN)
def centres_import_confirm():
    rt, member = runtime_of(), current_member()
    form = ConfirmImportForm()
    job_id = None
    if form.validate_on_submit():
        job_id = centre_import.start_import(rt, member, form.token.data, form.filename.data or "the file",
                                            client_address())
    if job_id is None:
        flash(centre_import.EXPIRED, "error")
        return redirect(url_for("staff.centres_import"))
    return redirect(url_for("staff.centres_import_job", job_id=job_id))


@bp.get("/centres/import/jobs/<job_id>")
@role_required(ADMIN)
def centres_import_job(job_id: str):
    """Where a preview or an import stands: a page that reloads itself (no JavaScript) until the
    job is done, then the same preview or result the upload used to answer with."""
    job = centre_import.progress(runtime_of(), current_member(), job_id[:64])
    if job is None:
        abort(404)
    if job.state in ("waiting", "running"):
        return render_template("staff/centres_import_wait.html", job=job)
    if job.state == "failed" or job.error:
        flash(job.error or "The import stopped with an error (it is logged): upload the file again.", "error")
        return redirect(url_for("staff.centres_import"))
    report, preview = job.report, job.kind == "preview"
    if not preview:
        flash(f"Imported: {report.inserted} added, {report.updated} updated, {report.unchanged} unchanged, "
              f"{report.rejected_rows} rejected.", "error" if report.rejected else "info")
        return render_template("staff/centres_import.html", form=ImportForm(), report=report, preview=False)
    confirm = ConfirmImportForm(token=job.token, filename=job.filename)
    return render_template("staff/centres_import.html", form=ImportForm(), report=report, confirm=confirm,
                           filename=job.filename, preview=True)
