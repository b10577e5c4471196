"""The dashboard's home page: who is logged in, their centres, and the pages their role opens."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from gateway.staff.accounts import allowed_centre_ids
from gateway.store.models import Centre
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, current_member


@bp.get("/")
def home():
    member = current_member()
    allowed = allowed_centre_ids(member)
    centres = []
    if allowed:
        with runtime_of().sessions() as session:
            centres = session.scalars(select(Centre).where(Centre.id.in_(allowed)).order_by(Centre.name)).all()
    return render_template("staff/home.html", member=member, centres=centres, all_centres=allowed is None)
