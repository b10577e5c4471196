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

from sqlalchemy import func, select

from gateway.staff.figures import OTHERS, Figure, chart_spec, top_and_others
from gateway.staff.funnel import funnel
from gateway.staff.question_figures import questions
from gateway.staff.status_figures import office_status
from gateway.store.models import Centre, DailyFigure
from gateway.usage.rollup import figures_for_day, local_day

PERIODS = (7, 30, 90, 365)
TOP = 15
SERIES = 8  # centres drawn as lines (the table lists them all)
KEYS = ("sessions", "funnel", "searches", "not_found", "keywords", "sms", "sms_failures",
        "feedback", "feedback_reasons", "subscribers", "office_status", "questions")
WIDE = frozenset({"sessions", "funnel", "not_found", "keywords"})  # service-wide: admins only


def report(rt, days: int, scope: frozenset[int] | None, only: str | None = None) -> list[Figure]:
    """The figures for the last ``days`` days (today included) that ``scope`` may see;
    ``only`` names one figure (a CSV download)."""
    today = local_day(rt.clock.now())
    since = today - timedelta(days=days - 1)
    reader = _Reader(rt, since, today, scope)
    builders = {"sessions": _sessions, "funnel": _funnel, "searches": _searches,
                "not_found": _not_found, "keywords": _keywords, "sms": _sms, "sms_failures": _sms_failures,
                "feedback": _feedback, "feedback_reasons": _feedback_reasons, "subscribers": _subscribers,
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


class _Reader:
    """Grouped reads of stored days plus today's rows computed now, filtered by scope."""

    def __init__(self, rt, since: date, today: date, scope: frozenset[int] | None):
        self.rt, self.since, self.today, self.scope = rt, since, today, scope
        self._today_rows: list[dict] | None = None
        self._names: dict[int, str] | None = None

    def days(self) -> list[date]:
        return [self.since + timedelta(days=i) for i in range((self.today - self.since).days + 1)]

    def today_rows(self, metric: str) -> list[dict]:
        if self._today_rows is None:
            with self.rt.engine.connect() as conn:
                self._today_rows = figures_for_day(conn, self.today)
        return [r for r in self._today_rows if r["metric"] == metric and self._in_scope(r["centre_id"])]

    def _in_scope(self, centre_id: int) -> bool:
        return self.scope is None or centre_id in self.scope

    def grouped(self, metric: str, by: tuple[str, ...], only_days: list[date] | None = None,
                span: tuple[date, date] | None = None) -> dict[tuple, list[float]]:
        """``metric`` summed (n, amount) over the period — or over ``span`` (first and last day),
        or on ``only_days`` — grouped by the named columns."""
        first, last = span or (self.since, self.today)
        cols = [getattr(DailyFigure, c) for c in by]
        q = (select(*cols, func.sum(DailyFigure.n), func.sum(DailyFigure.amount))
             .where(DailyFigure.metric == metric, DailyFigure.day >= first, DailyFigure.day <= last,
                    DailyFigure.day < self.today)
             .group_by(*cols))
        if only_days is not None:
            q = q.where(DailyFigure.day.in_(only_days))
        if self.scope is not None:
            q = q.where(DailyFigure.centre_id.in_(self.scope))
        out: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0])
        with self.rt.engine.connect() as conn:
            for row in conn.execute(q):
                key = tuple(row[:-2])
                out[key][0] += int(row[-2] or 0)
                out[key][1] += float(row[-1] or 0)
        if last < self.today or (only_days is not None and self.today not in only_days):
            return out
        for r in self.today_rows(metric):
            key = tuple(r[c] for c in by)
            out[key][0] += r["n"]
            out[key][1] += r["amount"]
        return out

    def centre_names(self) -> dict[int, str]:
        if self._names is None:
            with self.rt.sessions() as s:
                self._names = dict(s.execute(select(Centre.id, Centre.name)).all())
        return self._names


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


def _sessions(r: _Reader) -> Figure:
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


def _funnel(r: _Reader) -> Figure:
    reached = {screen: n for (screen,), (n, _a) in r.grouped("reached", ("detail",)).items()}
    ended = {screen: n for (screen,), (n, _a) in r.grouped("ended", ("detail",)).items()}
    return funnel(reached, ended)


def _terms(r: _Reader, metric: str) -> dict[tuple, int]:
    return {k: v[0] for k, v in r.grouped(metric, ("channel", "detail", "term")).items()}


def _searches(r: _Reader) -> Figure:
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


def _not_found(r: _Reader) -> Figure:
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


def _keywords(r: _Reader) -> Figure:
    totals: dict[str, int] = defaultdict(int)
    for (_c, _k, term), n in _terms(r, "keyword").items():
        totals[term] += n
    every = sorted(([t, n] for t, n in totals.items()), key=lambda x: (-x[1], x[0]))
    rows = every[:TOP]
    return Figure("keywords", "Unrecognised SMS keywords", ["First word", "Messages"], rows,
                  chart_spec([x[0] for x in rows], {"Messages": [x[1] for x in rows]}, "bar"),
                  f"The {TOP} sent most; the total counts every unrecognised word.",
                  [[f"All {len(every)} words", *_sums(every, 1, 2)]])


def _sms(r: _Reader) -> Figure:
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


def _sms_failures(r: _Reader) -> Figure:
    totals: dict[str, int] = defaultdict(int)
    for (outcome, reason), (n, _a) in r.grouped("sms", ("detail", "term")).items():
        if outcome == "failed":
            totals[reason or ""] += n
    rows = sorted(([k, v] for k, v in totals.items()), key=lambda x: (-x[1], x[0]))
    # The reasons are Africa's Talking's codes here; the page and the CSV put them in words.
    return Figure("sms_failures", "Failed SMS by reason", ["Reason", "Messages"], rows,
                  chart_spec([x[0] for x in rows], {"Messages": [x[1] for x in rows]}, "bar"),
                  totals=[["All failed SMS", *_sums(rows, 1, 2)]])


def _bucket(r: _Reader, day: date) -> str:
    """Days for a month or less, months beyond (a year of days per centre is unreadable)."""
    return day.isoformat() if (r.today - r.since).days <= 31 else f"{day.year}-{day.month:02d}"


def _buckets(r: _Reader) -> dict[str, tuple[date, date]]:
    """Each bucket's first and last day in the period (today for the current one)."""
    spans: dict[str, tuple[date, date]] = {}
    for day in r.days():
        label = _bucket(r, day)
        spans[label] = (spans.get(label, (day, day))[0], day)
    return spans


def _bucket_ends(r: _Reader) -> list[date]:
    return sorted(last for _first, last in _buckets(r).values())


def _feedback(r: _Reader) -> Figure:
    names = r.centre_names()
    sums: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0])
    for period, span in _buckets(r).items():  # summed in SQL per bucket: a year is 13 small queries
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


def _feedback_reasons(r: _Reader) -> Figure:
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


def _subscribers(r: _Reader) -> Figure:
    names = r.centre_names()
    latest: dict[tuple, tuple[date, int]] = {}
    ends = _bucket_ends(r)  # only the days whose counts are shown: a year is 13 days, not 365
    for (day, centre), (n, _a) in r.grouped("subscribers", ("day", "centre_id"), only_days=ends).items():
        key = (centre, _bucket(r, day))
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


def _sums(rows: list[list], start: int, width: int) -> list:
    """Each column's sum from ``start`` to ``width`` (0 each without rows)."""
    return [sum(x[i] or 0 for x in rows) for i in range(start, width)]


def _office_status(r: _Reader) -> Figure:
    return office_status(r.rt, r.since, r.today, r.scope, r.centre_names())


def _questions(r: _Reader) -> Figure:
    return questions(r.rt, r.since, r.today, r.scope, r.centre_names(), r.rt.clock.now())
