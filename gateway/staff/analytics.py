"""What the analytics pages show, from the daily roll-up (and today, computed on demand).

Contract: :func:`report` returns the :class:`Figure` list for a period of ``days`` ending today
(Africa/Johannesburg) as one actor may see it: ``scope`` None (admins) sees every figure; a
set of centre ids (clerks) sees only figures that belong to those centres — searches that found
one of them, SMS of broadcasts to one of them, their feedback, subscribers, offices' status
reports and citizens' questions — and none of the service-wide ones (USSD sessions, the
funnel, places without a centre, unknown keywords). Each :class:`~gateway.staff.figures.Figure` is a table (what the page and
its CSV show) and the chart drawn from it. Queries read ``daily_figures`` grouped in SQL, so a
year answers as fast as a week, on SQLite and PostgreSQL alike; offices' status reports are
counted from their own table (:mod:`~gateway.staff.status_figures`), and so are citizens'
questions (:mod:`~gateway.staff.question_figures`: counts and times, never text); the funnel
names screens in words (:mod:`~gateway.staff.funnel`). Every figure has totals over all its
rows; charts of centres draw the biggest and one bar (or line) for the others.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from gateway.staff.centre_figures import feedback, feedback_reasons, subscribers
from gateway.staff.figure_reader import Reader
from gateway.staff.figures import Figure, chart_spec
from gateway.staff.funnel import funnel
from gateway.staff.question_figures import questions
from gateway.staff.status_figures import office_status
from gateway.usage.rollup import local_day

PERIODS = (7, 30, 90, 365)
TOP = 15
KEYS = ("sessions", "funnel", "searches", "not_found", "keywords", "sms", "sms_failures",
        "feedback", "feedback_reasons", "subscribers", "office_status", "questions")
WIDE = frozenset({"sessions", "funnel", "not_found", "keywords"})  # service-wide: admins only


def report(rt, days: int, scope: frozenset[int] | None, only: str | None = None) -> list[Figure]:
    """The figures for the last ``days`` days (today included) that ``scope`` may see;
    ``only`` names one figure (a CSV download)."""
    today = local_day(rt.clock.now())
    since = today - timedelta(days=days - 1)
    reader = Reader(rt, since, today, scope)
    builders = {"sessions": _sessions, "funnel": _funnel, "searches": _searches,
                "not_found": _not_found, "keywords": _keywords, "sms": _sms, "sms_failures": _sms_failures,
                "feedback": feedback, "feedback_reasons": feedback_reasons, "subscribers": subscribers,
                "office_status": _office_status, "questions": _questions}
    figures = []
    for key in KEYS:
        if only and key != only:
            continue
        if scope is not None and key in WIDE:
            continue
        figures.append(builders[key](reader))
    return figures


def keys() -> tuple[str, ...]:
    return KEYS


def _percentile(histogram: dict[int, int], q: float) -> int | None:
    """The smallest hop count with at least ``q`` of the sessions at or below it."""
    total = sum(histogram.values())
    if not total:
        return None
    seen = 0
    for hops in sorted(histogram):
        seen += histogram[hops]
        if seen >= q * total:
            return hops
    return max(histogram)


def _sessions(r: Reader) -> Figure:
    per = r.grouped("ussd_sessions", ("day",))
    callers = r.grouped("ussd_callers", ("day",))
    hist: dict[date, dict[int, int]] = defaultdict(dict)
    for (day, hops), (n, _a) in r.grouped("hops", ("day", "detail")).items():
        hist[day][int(hops)] = n
    rows = []
    every: dict[int, int] = defaultdict(int)
    for day in r.days():
        h = hist.get(day, {})
        for hops, n in h.items():
            every[hops] += n
        rows.append([day.isoformat(), per.get((day,), [0])[0], callers.get((day,), [0])[0],
                     _percentile(h, 0.5) or 0, _percentile(h, 0.95) or 0])
    chart = chart_spec([x[0] for x in rows], {"Sessions": [x[1] for x in rows], "Unique callers": [x[2] for x in rows],
                                         "Median hops": [x[3] for x in rows], "p95 hops": [x[4] for x in rows]})
    for series in chart["data"]["datasets"][2:]:
        series["yAxisID"] = "hops"  # a handful of hops beside thousands of sessions: an axis of their own
    chart["axes"] = {"y": "Sessions, callers", "hops": "Hops per session"}
    totals = [["All days", sum(x[1] for x in rows), None, _percentile(every, 0.5) or 0, _percentile(every, 0.95) or 0]]
    return Figure("sessions", "USSD sessions and unique callers per day",
                  ["Day", "Sessions", "Unique callers", "Median hops", "p95 hops"], rows, chart,
                  "Callers are counted per day: one who dialled on two days counts on each, so they have no total.",
                  totals)


def _funnel(r: Reader) -> Figure:
    reached = {screen: n for (screen,), (n, _a) in r.grouped("reached", ("detail",)).items()}
    ended = {screen: n for (screen,), (n, _a) in r.grouped("ended", ("detail",)).items()}
    return funnel(reached, ended)


def _terms(r: Reader, metric: str) -> dict[tuple, int]:
    return {k: v[0] for k, v in r.grouped(metric, ("channel", "detail", "term")).items()}


def _searches(r: Reader) -> Figure:
    found = _terms(r, "search" if r.scope is None else "search_at")
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for (channel, kind, term), n in found.items():
        totals[(kind, term)][0 if channel == "ussd" else 1] += n
    every = sorted(([kind, term, u, s, u + s] for (kind, term), (u, s) in totals.items()),
                   key=lambda x: (-x[-1], x[0], x[1]))
    rows = every[:TOP]
    chart = chart_spec([f"{x[1]} ({x[0]})" for x in rows], {"USSD": [x[2] for x in rows], "SMS": [x[3] for x in rows]}, "bar")
    chart["stacked"] = True
    return Figure("searches", "Top places and services asked for (a centre was found)",
                  ["Kind", "Asked for", "USSD", "SMS", "Total"], rows, chart,
                  f"The {TOP} asked for most; the totals count every search that found a centre.",
                  [["All searches", f"{len(every)} asked for", *_sums(every, 2, 5)]])


def _not_found(r: Reader) -> Figure:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (channel, kind, term), n in _terms(r, "search_none").items():
        if kind == "place":
            totals[term][0 if channel == "ussd" else 1] += n
    every = sorted(([term, u, s, u + s] for term, (u, s) in totals.items()), key=lambda x: (-x[-1], x[0]))
    rows = every[:TOP]
    chart = chart_spec([x[0] for x in rows], {"USSD": [x[1] for x in rows], "SMS": [x[2] for x in rows]}, "bar")
    chart["stacked"] = True
    return Figure("not_found", "Places that found no centre", ["Place typed", "USSD", "SMS", "Total"], rows, chart,
                  f"A centre is missing there, or the gazetteer does not know the name. The {TOP} typed most; "
                  "the totals count every place.", [[f"All {len(every)} places", *_sums(every, 1, 4)]])


def _keywords(r: Reader) -> Figure:
    totals: dict[str, int] = defaultdict(int)
    for (_c, _k, term), n in _terms(r, "keyword").items():
        totals[term] += n
    every = sorted(([t, n] for t, n in totals.items()), key=lambda x: (-x[1], x[0]))
    rows = every[:TOP]
    return Figure("keywords", "Unrecognised SMS keywords", ["First word", "Messages"], rows,
                  chart_spec([x[0] for x in rows], {"Messages": [x[1] for x in rows]}, "bar"),
                  f"The {TOP} sent most; the total counts every unrecognised word.",
                  [[f"All {len(every)} words", *_sums(every, 1, 2)]])


def _sms(r: Reader) -> Figure:
    cost = r.rt.settings.SMS_COST_PER_SEGMENT
    grid: dict[date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (day, outcome), (n, segments) in r.grouped("sms", ("day", "detail")).items():
        grid[day][outcome] += n
        if outcome in ("sent", "delivered", "failed"):
            grid[day]["segments"] += segments
    rows = []
    for day in r.days():
        g = grid.get(day, {})
        sent = int(g.get("sent", 0) + g.get("delivered", 0) + g.get("failed", 0))
        rows.append([day.isoformat(), sent, int(g.get("delivered", 0)), int(g.get("failed", 0)),
                     int(g.get("opted_out", 0)), int(g.get("segments", 0)), round(g.get("segments", 0) * cost, 2)])
    chart = chart_spec([x[0] for x in rows], {"Sent": [x[1] for x in rows], "Delivered": [x[2] for x in rows],
                                         "Failed": [x[3] for x in rows], "Opted out": [x[4] for x in rows]})
    totals = [["All days", *_sums(rows, 1, 7)]]
    totals[0][-1] = round(totals[0][-1], 2)
    return Figure("sms", "SMS per day: sent, delivered, failed, opted out, and cost",
                  ["Day", "Sent", "Delivered", "Failed", "Opted out", "Segments", "Cost (R)"], rows, chart,
                  f"Sent counts every SMS handed to Africa's Talking; cost is segments × R{cost:.2f}.", totals)


def _sms_failures(r: Reader) -> Figure:
    totals: dict[str, int] = defaultdict(int)
    for (outcome, reason), (n, _a) in r.grouped("sms", ("detail", "term")).items():
        if outcome == "failed":
            totals[reason or ""] += n
    rows = sorted(([k, v] for k, v in totals.items()), key=lambda x: (-x[1], x[0]))
    # The reasons are Africa's Talking's codes here; the page and the CSV put them in words.
    return Figure("sms_failures", "Failed SMS by reason", ["Reason", "Messages"], rows,
                  chart_spec([x[0] for x in rows], {"Messages": [x[1] for x in rows]}, "bar"),
                  totals=[["All failed SMS", *_sums(rows, 1, 2)]])


def _sums(rows: list[list], start: int, width: int) -> list:
    """Each column's sum from ``start`` to ``width`` (0 each without rows)."""
    return [sum(x[i] or 0 for x in rows) for i in range(start, width)]


def _office_status(r: Reader) -> Figure:
    return office_status(r.rt, r.since, r.today, r.scope, r.centre_names())


def _questions(r: Reader) -> Figure:
    return questions(r.rt, r.since, r.today, r.scope, r.centre_names(), r.rt.clock.now())
