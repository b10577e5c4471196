"""The analytics page, ``/staff/analytics`` (every role; clerks see their centres' figures
only, by :func:`gateway.staff.accounts.allowed_centre_ids`), and one CSV per figure.

Each figure is a table (works without JavaScript) beside a chart that
``static/analytics.js`` draws with the vendored Chart.js from the same numbers, carried in a
``data-chart`` attribute (no inline script: the CSP forbids it).
"""

from __future__ import annotations

import csv
import io

from flask import Response, abort, render_template, request

from gateway.staff import analytics
from gateway.staff.accounts import allowed_centre_ids
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, current_member


def _days() -> int:
    days = request.args.get("days", 30, type=int)
    return days if days in analytics.PERIODS else 30


@bp.get("/analytics")
def analytics_page():
    days = _days()
    scope = allowed_centre_ids(current_member())
    figures = analytics.report(runtime_of(), days, scope)
    return render_template("staff/analytics.html", figures=figures, days=days, periods=analytics.PERIODS,
                           everything=scope is None)


@bp.get("/analytics/<key>.csv")
def analytics_csv(key: str):
    if key not in analytics.keys():
        abort(404)
    days = _days()
    figures = analytics.report(runtime_of(), days, allowed_centre_ids(current_member()), only=key)
    if not figures:
        abort(404)  # a service-wide figure, and this account sees its centres only
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(figures[0].columns)
    writer.writerows(figures[0].rows)
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="thusong-{key}-{days}d.csv"'})
