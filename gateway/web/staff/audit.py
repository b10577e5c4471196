"""The audit page (admins): events newest first, 50 a page, filtered by action or family."""

from __future__ import annotations

from flask import render_template, request

from gateway.staff import audit
from gateway.staff.accounts import ADMIN
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, role_required

PER_PAGE = 50


@bp.get("/audit")
@role_required(ADMIN)
def audit_log():
    action = request.args.get("action", "").strip()
    page = audit.events(runtime_of().sessions, action or None, request.args.get("page", 1, type=int), PER_PAGE)
    families = sorted({a.split(".")[0] for a in audit.ACTIONS if "." in a})
    return render_template("staff/audit.html", page=page, action=action, actions=audit.ACTIONS,
                           families=families)
