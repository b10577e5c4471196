"""The analytics figures of each centre's citizens: feedback ratings over time and their reasons,
and subscribers over time. A table lists every centre; a chart draws the :data:`SERIES`
centres with the most and one line for the others (summed, or for ratings averaged).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from gateway.staff.figure_reader import Reader
from gateway.staff.figures import OTHERS, Figure, chart_spec, top_and_others

SERIES = 8  # centres drawn as lines (the table lists them all)


def feedback(r: Reader) -> Figure:
    names = r.centre_names()
    sums: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0])
    for period, span in r.buckets().items():  # summed in SQL per bucket: a year is 13 small queries
        for (centre, rating), (n, _a) in r.grouped("feedback", ("centre_id", "detail"), span=span).items():
            s = sums[(names.get(centre, f"centre {centre}"), period)]
            s[0] += n
            s[1] += n * int(rating)
    rows = sorted(([c, period, int(n), round(total / n, 2)] for (c, period), (n, total) in sums.items() if n),
                  key=lambda x: (x[0], x[1]))
    periods = sorted({x[1] for x in rows})
    counts: dict[str, int] = defaultdict(int)
    for x in rows:
        counts[x[0]] += x[2]
    top, rest = top_and_others(counts, SERIES)
    avg = {(x[0], x[1]): x[3] for x in rows}
    lines = {c: [avg.get((c, p)) for p in periods] for c in top}
    if rest:
        lines[OTHERS] = [_average([sums[(c, p)] for c in rest if (c, p) in sums]) for p in periods]
    ratings = sum(x[2] for x in rows)
    totals = [["All centres", "whole period", ratings, _average(list(sums.values()))]]
    return Figure("feedback", "Feedback: average rating per centre over time",
                  ["Centre", "Period", "Ratings", "Average (1–5)"], rows, chart_spec(periods, lines),
                  f"The chart draws the {SERIES} centres with the most ratings and the others together.", totals)


def _average(sums: list[list[float]]) -> float | None:
    """The average rating of (ratings, sum of the ratings) pairs taken together."""
    n = sum(x[0] for x in sums)
    return round(sum(x[1] for x in sums) / n, 2) if n else None


def feedback_reasons(r: Reader) -> Figure:
    names = r.centre_names()
    rows = sorted(([names.get(c, f"centre {c}"), reason or "(none given)", int(n)]
                   for (c, reason), (n, _a) in r.grouped("feedback", ("centre_id", "term")).items()),
                  key=lambda x: (x[0], -x[2], x[1]))
    totals: dict[str, int] = defaultdict(int)
    for x in rows:
        totals[x[1]] += x[2]
    ordered = sorted(totals, key=lambda k: (-totals[k], k))
    return Figure("feedback_reasons", "Feedback: the reasons given", ["Centre", "Reason", "Ratings"], rows,
                  chart_spec(ordered, {"Ratings": [totals[k] for k in ordered]}, "bar"),
                  totals=[["All centres", "every reason", sum(totals.values())]])


def subscribers(r: Reader) -> Figure:
    names = r.centre_names()
    latest: dict[tuple, tuple[date, int]] = {}
    ends = r.bucket_ends()  # only the days whose counts are shown: a year is 13 days, not 365
    for (day, centre), (n, _a) in r.grouped("subscribers", ("day", "centre_id"), only_days=ends).items():
        key = (centre, r.bucket(day))
        if key not in latest or latest[key][0] < day:
            latest[key] = (day, int(n))  # the bucket's last day: subscribers at its end
    rows = sorted(([names.get(c, f"centre {c}"), period, n] for (c, period), (_d, n) in latest.items()),
                  key=lambda x: (x[0], x[1]))
    periods = sorted({x[1] for x in rows})
    now: dict[str, int] = {}
    for x in rows:
        now[x[0]] = x[2]  # rows are in period order: the last one stays
    top, rest = top_and_others(now, SERIES)
    value = {(x[0], x[1]): x[2] for x in rows}
    lines = {c: [value.get((c, p)) for p in periods] for c in top}
    if rest:
        lines[OTHERS] = [sum(value.get((c, p), 0) for c in rest) for p in periods]
    last = periods[-1] if periods else ""
    totals = [["All centres", last, sum(value.get((c, last), 0) for c in now)]]
    return Figure("subscribers", "Subscribers per centre over time", ["Centre", "Period", "Subscribers"], rows,
                  chart_spec(periods, lines),
                  f"Active subscriptions at the end of each day (or month). The chart draws the {SERIES} centres "
                  "with the most now and the others together; the total is at the end of the period.", totals)
