"""Reads of the daily roll-up for the analytics figures: the period's stored days summed in SQL,
grouped by the columns a figure needs, plus today computed on demand, filtered by the actor's
scope; and the period's buckets (days for a month or less, months beyond).

Contract: :class:`Reader` is made per page (it caches today's rows and the centres' names);
:meth:`Reader.grouped` answers ``{group: [n, amount]}`` for one metric.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import func, select

from gateway.store.models import Centre, DailyFigure
from gateway.usage.rollup import figures_for_day


class Reader:
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

    def bucket(self, day: date) -> str:
        """Days for a month or less, months beyond (a year of days per centre is unreadable)."""
        return day.isoformat() if (self.today - self.since).days <= 31 else f"{day.year}-{day.month:02d}"

    def buckets(self) -> dict[str, tuple[date, date]]:
        """Each bucket's first and last day in the period (today for the current one)."""
        spans: dict[str, tuple[date, date]] = {}
        for day in self.days():
            label = self.bucket(day)
            spans[label] = (spans.get(label, (day, day))[0], day)
        return spans

    def bucket_ends(self) -> list[date]:
        return sorted(last for _first, last in self.buckets().values())
