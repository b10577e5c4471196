"""The analytics page, ``/staff/analytics`` (every role; clerks see their centres' figures
only, by :func:`gateway.staff.accounts.allowed_centre_ids`), and one CSV per figure.

Each figure is a table (works without JavaScript) beside a chart that
``static/analytics.js`` draws with the vendored Chart.js from the same numbers, carried in a
``data-chart`` attribute (no inline script: the CSP forbids it). The CSVs are written by
:func:`gateway.directory.spreadsheet.csv_text`, safe to open in a spreadsheet.
"""

from __future__ import annotations

from flask import Response, abort, render_template, request

from gateway.directory.spreadsheet import csv_text
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
    # Place names and keywords are what citizens typed: csv_text keeps them from running as formulas.
    text = csv_text(figures[0].columns, figures[0].rows)
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="thusong-{key}-{days}d.csv"'})
