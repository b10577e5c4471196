"""The analytics page, ``/staff/analytics`` (every role; clerks see their centres' figures
only, by :func:`gateway.staff.accounts.allowed_centre_ids`), and one CSV per figure.

Each figure is a table (works without JavaScript) beside a chart that
``static/analytics.js`` draws with the vendored Chart.js from the same numbers, carried in a
``data-chart`` attribute (no inline script: the CSP forbids it). A table shows
:data:`PAGE_ROWS` rows at a time, paged by the server (``?<key>_page=N``, each table on its
own, the others kept), its totals in the foot counted over every row. Failed SMS are counted by
Africa's Talking's codes and shown in the words the broadcast page uses
(:func:`~gateway.web.staff.broadcast_text.plain_reason`), on the page and in the CSV. The CSVs
hold every row, written by :func:`gateway.directory.spreadsheet.csv_text`, safe to open in a
spreadsheet.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace

from flask import Response, abort, render_template, request, url_for

from gateway.directory.spreadsheet import csv_text
from gateway.staff import analytics
from gateway.staff.accounts import allowed_centre_ids
from gateway.staff.figures import Figure, chart_spec
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, current_member
from gateway.web.staff.broadcast_text import plain_reason
from gateway.web.staff.sa_words import calendar

PAGE_ROWS = 31  # a month of days on one page
ISO_DAY_OR_MONTH = re.compile(r"\d{4}-\d\d(-\d\d)?\Z")


@dataclass
class Shown:
    """One figure as the page shows it: the rows of one page, and links to the others."""

    figure: Figure
    rows: list[list]
    page: int
    pages: int
    first: int  # 1-based number of the first row shown (0: no rows)
    last: int
    previous: str | None
    next: str | None


def _days() -> int:
    days = request.args.get("days", 30, type=int)
    return days if days in analytics.PERIODS else 30


def in_words(figure: Figure) -> Figure:
    """The chart's days and months in words (``Mon 7 Dec 2026``, ``Dec 2026``: the table's
    are written so by its ``cell`` filter, the CSV keeps ISO); ``sms_failures`` with each reason
    in the broadcast page's words (codes with the same words, such as InsufficientCredit and
    InsufficientBalance, are one row)."""
    if figure.chart.get("data", {}).get("labels"):
        data = {**figure.chart["data"], "labels": [calendar(x) if ISO_DAY_OR_MONTH.match(x) else x
                                                   for x in figure.chart["data"]["labels"]]}
        figure = replace(figure, chart={**figure.chart, "data": data})
    if figure.key != "sms_failures":
        return figure
    merged: dict[str, int] = defaultdict(int)
    for code, n in figure.rows:
        merged[plain_reason(code or "Failed")] += n
    rows = sorted(([words, n] for words, n in merged.items()), key=lambda x: (-x[1], x[0]))
    chart = chart_spec([x[0] for x in rows], {"Messages": [x[1] for x in rows]}, "bar")
    chart["horizontal"] = True  # sentences read along the bars, not slanted under them
    return replace(figure, rows=rows, chart=chart)


def _page_of(figure: Figure, days: int) -> Shown:
    arg = f"{figure.key}_page"
    pages = max(1, -(-len(figure.rows) // PAGE_ROWS))
    page = min(max(request.args.get(arg, 1, type=int), 1), pages)  # out of range: the nearest page
    start = (page - 1) * PAGE_ROWS
    rows = figure.rows[start:start + PAGE_ROWS]

    def link(n: int) -> str:
        args = {**request.args.to_dict(), "days": days, arg: n}
        return url_for("staff.analytics_page", **args, _anchor=figure.key)

    return Shown(figure, rows, page, pages, start + 1 if rows else 0, start + len(rows),
                 link(page - 1) if page > 1 else None, link(page + 1) if page < pages else None)


@bp.get("/analytics")
def analytics_page():
    days = _days()
    scope = allowed_centre_ids(current_member())
    figures = [_page_of(in_words(f), days) for f in analytics.report(runtime_of(), days, scope)]
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
    figure = in_words(figures[0])
    # Place names and keywords are what citizens typed: csv_text keeps them from running as formulas.
    text = csv_text(figure.columns, figure.rows)
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="thusong-{key}-{days}d.csv"'})
