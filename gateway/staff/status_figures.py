"""The analytics figure of offices' live status: how often each office at a centre was down.

Contract: :func:`office_status` counts, per centre and office, the status reports made in the
period (``since`` to ``today``, SAST days, both included) and the SAST days on which at least
one of them said ``down``, read straight from ``office_statuses`` (every report is a row, never
updated: :mod:`gateway.dialogue.office_status`). A report counts on the day it was made, not on
the days it stayed in force (a status expires at the end of its day unless set otherwise).
``scope`` None sees every centre; a set of centre ids only those. Totals are counted in SQL;
only the ``down`` reports' times are read, to place each on its SAST day.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import case, func, select

from gateway.clock import SAST
from gateway.runtime import Runtime
from gateway.staff.figures import OTHERS, Figure, chart_spec, top_and_others
from gateway.store.models import Office, OfficeStatus, as_utc
from gateway.usage.rollup import day_bounds

TOP = 15  # centres drawn (the table lists them all)
COLUMNS = ["Centre", "Office", "Days with down", "Down reports", "Reports"]


def office_status(rt: Runtime, since: date, today: date, scope: frozenset[int] | None,
                  names: dict[int, str]) -> Figure:
    """The figure ``office_status``: one row per centre and office with a report in the period,
    the most days down first; the chart stacks each centre's offices' days with ``down``."""
    start, end = day_bounds(since)[0], day_bounds(today)[1]  # UTC: SQLite compares naive UTC text
    in_period = (OfficeStatus.set_at >= start) & (OfficeStatus.set_at < end)
    if scope is not None:
        in_period &= OfficeStatus.centre_id.in_(scope)
    down = OfficeStatus.state == "down"
    totals = (select(OfficeStatus.centre_id, Office.code, func.count(),
                     func.sum(case((down, 1), else_=0)))
              .join(Office, Office.id == OfficeStatus.office_id).where(in_period)
              .group_by(OfficeStatus.centre_id, Office.code))
    downs = (select(OfficeStatus.centre_id, Office.code, OfficeStatus.set_at)
             .join(Office, Office.id == OfficeStatus.office_id).where(in_period & down))
    days: dict[tuple[int, str], set[date]] = defaultdict(set)
    with rt.engine.connect() as conn:
        counted = [(c, code, int(n), int(d or 0)) for c, code, n, d in conn.execute(totals)]
        for centre, code, at in conn.execute(downs):
            days[(centre, code)].add(as_utc(at).astimezone(SAST).date())
    rows = sorted(([names.get(c, f"centre {c}"), code, len(days[(c, code)]), d, n] for c, code, n, d in counted),
                  key=lambda x: (-x[2], -x[3], x[0], x[1]))
    totals = [["All centres", "every office", *(sum(x[i] for x in rows) for i in (2, 3, 4))]]
    return Figure("office_status", "Offices' status reports: days with an office down", COLUMNS, rows,
                  _chart(rows), "A day counts when at least one report that day (SAST) said down; "
                  "reports count every up, slow and down set by staff. The totals add up every office's days.",
                  totals)


def _chart(rows: list[list]) -> dict:
    """Bars per centre (the TOP with the most days down, then the others'), one stacked series
    per office."""
    per_centre: dict[str, int] = defaultdict(int)
    value: dict[tuple[str, str], int] = defaultdict(int)
    for centre, code, days, _d, _n in rows:
        if days:
            per_centre[centre] += days
            value[(centre, code)] += days
    centres, rest = top_and_others(per_centre, TOP)
    for (centre, code), days in list(value.items()):
        if centre in rest:
            value[(OTHERS, code)] += days
    bars = [*centres, OTHERS] if rest else centres
    offices = sorted({code for (centre, code) in value if centre in bars})
    spec = chart_spec(bars, {o: [value.get((c, o), 0) for c in bars] for o in offices}, "bar")
    spec["stacked"] = True
    return spec
