"""The visit form's notice: the details as the domain checks them (:func:`details_of`, the
notice's wording included), the wording started from a template (:func:`from_template`,
``?template=ID``: a visit notice's wording the member may use) and the notice as it will be
sent — exact SMS, characters, encoding, segments, recipients now and cost
(:func:`notice_preview`) — for the form's Preview button and the fragment its script asks
for. Neither stores anything; a centre outside the member's is never counted.
"""

from __future__ import annotations

from flask import flash, request

from gateway.staff import broadcasts as bc
from gateway.staff import templates, visit_plan, visits
from gateway.web.staff.forms import VisitForm


def details_of(rt, form: VisitForm) -> visits.Details:
    return visits.check(rt, form.service.data or "", form.day.data, form.starts.data, form.ends.data,
                        office=form.office.data or None, notice=form.notice.data)


def from_template(rt, actor: bc.Actor, form: VisitForm) -> str | None:
    """Fill the notice from ``?template=ID`` (a visit notice's wording the member may use);
    the template's name, or None (flashed) when there is none to use."""
    raw = request.args.get("template", "")
    if not raw:
        return None
    try:
        row = templates.get_for(rt, actor, int(raw) if raw.isdecimal() and len(raw) <= 9 else 0)
    except templates.NotFound:
        row = None
    if row is None or not templates.is_notice(row):
        flash(f"No visit notice template {raw[:12]} that you may use: the notice has the standard wording.", "error")
        return None
    form.notice.data = row.text
    if row.centre_id is not None and row.centre_id in {c.value for c in form.centre.choices}:
        form.centre.data = row.centre_id
    return row.name


def notice_preview(rt, actor: bc.Actor, form: VisitForm) -> dict:
    """The notice as it will be sent (exact SMS, segments, encoding, cost), or why not yet;
    never for a centre outside ``actor``'s (its subscribers are not theirs to count)."""
    if not form.centre.data or not form.day.data or not form.starts.data or not form.ends.data:
        return {"error": "Choose the centre, the day and the times to see the notice."}
    if actor.scope is not None and form.centre.data not in actor.scope:
        return {"error": f"centre {form.centre.data} is not one of your centres"}
    try:
        details = details_of(rt, form)
        preview = visit_plan.notice_preview(rt, form.centre.data, details)
    except visits.VisitError as exc:
        return {"error": str(exc)}
    except LookupError as exc:
        return {"error": str(exc)}
    codepoint = f"U+{ord(preview.ucs2_because):04X}" if preview.ucs2_because else ""
    return {"error": None, "preview": preview, "codepoint": codepoint}
