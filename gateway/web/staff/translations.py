"""The translations pages (reviewers and admins): where each language stands, and the review
page of one language — every screen and SMS reply as a phone shows it, beside the English,
each string with "correct" and "suggest" — and the suggestions waiting (admins accept or
reject those of others). What the buttons do is :mod:`gateway.staff.translation_review`'s;
the files are the app's ``TRANSLATION_FILES`` (the shipped catalogues unless a test says).
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for

from gateway.staff import translation_review as review
from gateway.staff.accounts import REVIEWER
from gateway.staff.translation_screens import sample, screens
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, current_member, role_required
from gateway.web.staff.forms import ActionForm, TranslationCorrectForm, TranslationSuggestForm
from menus.catalogue import FALLBACK, LANGUAGES, Catalogues
from menus.translation import Files, entries, status


def files() -> Files:
    return current_app.config.get("TRANSLATION_FILES") or Files()


@bp.get("/translations/")
@role_required(REVIEWER)
def translations_page():
    cats = Catalogues.read(files().catalogues)
    rows = [status(files(), lang, cats) for lang in LANGUAGES]
    waiting = {}
    for row in review.waiting(runtime_of()):
        waiting[row.lang] = waiting.get(row.lang, 0) + 1
    return render_template("staff/translations.html", rows=rows, waiting=waiting)


@bp.get("/translations/<lang>")
@role_required(REVIEWER)
def translation_review(lang: str):
    if lang not in LANGUAGES or lang == FALLBACK:
        abort(404)
    cats = Catalogues.read(files().catalogues)
    by_key = {e.key: e for e in entries(files(), lang, cats)}
    return render_template("staff/translation_review.html", lang=lang, name=cats.by_code[lang].name,
                           shown=screens(runtime_of(), cats, lang), by_key=by_key,
                           sample=lambda key, code: sample(cats, code, key),
                           keywords=[e for e in by_key.values() if e.is_keyword],
                           waiting=review.waiting(runtime_of(), lang), member=current_member(),
                           status=status(files(), lang, cats))


@bp.post("/translations/<lang>/correct")
@role_required(REVIEWER)
def translation_correct(lang: str):
    form = TranslationCorrectForm()
    if lang not in LANGUAGES or lang == FALLBACK or not form.validate_on_submit():
        abort(400)
    try:
        review.correct(runtime_of(), files(), current_member(), lang, form.key.data, form.seen.data)
    except review.ReviewError as exc:
        flash(f"Not marked: {exc}.", "error")
    else:
        flash(f"{form.key.data} marked correct.", "info")
    return redirect(url_for("staff.translation_review", lang=lang, _anchor=f"s-{form.key.data}"))


@bp.post("/translations/<lang>/suggest")
@role_required(REVIEWER)
def translation_suggest(lang: str):
    form = TranslationSuggestForm()
    if lang not in LANGUAGES or lang == FALLBACK or not form.validate_on_submit():
        abort(400)
    try:
        _id, warnings = review.suggest(runtime_of(), files(), current_member(), lang, form.key.data, form.text.data)
    except review.Refused as exc:
        flash(f"Suggestion for {form.key.data} refused: " + "; ".join(f.reason for f in exc.findings if f.refused), "error")
    except review.ReviewError as exc:
        flash(f"Not suggested: {exc}.", "error")
    else:
        told = "".join(f" Warning: {w.reason}." for w in warnings)
        flash(f"Suggestion for {form.key.data} passed the checks and waits for an admin.{told}", "info")
    return redirect(url_for("staff.translation_review", lang=lang, _anchor=f"s-{form.key.data}"))


@bp.post("/translations/suggestions/<int:suggestion_id>/<decision>")
@role_required()
def translation_decide(suggestion_id: int, decision: str):
    if decision not in ("accept", "reject") or not ActionForm().validate_on_submit():
        abort(400)
    lang = None
    try:
        if decision == "accept":
            lang = review.accept(runtime_of(), files(), current_member(), suggestion_id).lang
        else:
            lang = review.reject(runtime_of(), current_member(), suggestion_id)
    except review.Refused as exc:
        flash("Not accepted: " + "; ".join(f.reason for f in exc.findings if f.refused), "error")
    except review.ReviewError as exc:
        flash(f"Nothing done: {exc}.", "error")
    else:
        flash("Accepted: the new wording is in the catalogue, reviewed." if decision == "accept"
              else "Rejected.", "info")
    return redirect(url_for("staff.translation_review", lang=lang) if lang else url_for("staff.translations_page"))
