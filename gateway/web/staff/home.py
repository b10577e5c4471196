"""The dashboard's home page: who is logged in, their centres, the pages their role opens,
the inbox's open and overdue questions in their scope and, for approvers, how many broadcasts,
visits (or requests to cancel one) and centre changes wait for them; and the approvals block
(:func:`gateway.web.staff.approvals.home_block`: counts, and what was decided on the person's
items since they last looked — opening this page is looking)."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from sqlalchemy import select

from gateway.staff import broadcasts as bc
from gateway.staff import centre_changes, inbox, visits
from gateway.staff.accounts import CLERK, REVIEWER, allowed_centre_ids
from gateway.store.models import Centre
from gateway.web.context import runtime_of
from gateway.web.staff.approvals import home_block
from gateway.web.staff.auth import bp, current_member


@bp.get("/")
def home():
    member = current_member()
    if member.role == REVIEWER:
        return redirect(url_for("staff.translations_page"))
    allowed = allowed_centre_ids(member)
    centres = []
    if allowed:
        with runtime_of().sessions() as session:
            centres = session.scalars(select(Centre).where(Centre.id.in_(allowed)).order_by(Centre.name)).all()
    pending = 0
    if member.role != CLERK:
        rows = bc.list_broadcasts(runtime_of(), 200, bc.Actor.of(member))
        pending = sum(1 for row in rows if row.status == "pending_approval" and row.author_id != member.id)
    visits_waiting = len(visits.awaiting(runtime_of(), bc.Actor.of(member)))
    return render_template("staff/home.html", member=member, centres=centres, all_centres=allowed is None,
                           pending=pending, visits_waiting=visits_waiting, questions=inbox.waiting(runtime_of(), member),
                           centre_changes=centre_changes.waiting_for(runtime_of(), member),
                           approvals=home_block(member))
