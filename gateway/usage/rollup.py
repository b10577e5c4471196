"""The daily roll-up: every figure the analytics pages show, per day (Africa/Johannesburg).

Contract: :func:`figures_for_day` computes one day's rows from the detail tables (it writes
nothing: today is shown this way, on demand). :func:`roll_up` stores every closed day that has
no roll-up yet, each day replaced whole in one transaction (idempotent); a day is marked done
by its ``day`` row, so a day with no activity is not computed again. A day older than the
retention cutoff is never recomputed (its detail is gone; its roll-up is the record).

Metrics (``DailyFigure`` columns used; ``centre_id`` 0 = none):

- ``day`` — marker, n=1, detail = :data:`VERSION` of the roll-up that computed the day: a day
  an older roll-up computed is computed again while retention still keeps its detail whole.
- ``ussd_sessions`` / ``ussd_callers`` / ``ussd_hops`` — n.
- ``hops`` — detail = hops in a session, n = sessions (the distribution: median, p95).
- ``reached`` — detail = a screen, n = sessions that showed it (once each, however often).
- ``ended`` — detail = the last screen a session showed, channel = AT's status ('' when no
  notification came), n = sessions (every session once: their sum is the day's sessions).
- ``search`` / ``search_none`` — a search that found a centre / found none: channel
  (ussd|sms), detail = kind (place|service), term = what was asked (no centre: the
  service-wide rows stay few, one per term).
- ``search_at`` — the found searches again, by the first centre found (centre_id): what a
  clerk's page reads.
- ``keyword`` — an unrecognised SMS keyword: term = the word.
- ``sms`` — outbound SMS: channel = queue, detail = outcome (delivered, failed, opted_out,
  sent = awaiting its report, pending = not yet sent), term = failure reason, centre_id = the
  centre a ``centre:ID`` broadcast went to, n = messages, amount = segments.
- ``sms_in`` — inbound SMS, n.
- ``feedback`` — centre_id, detail = rating, term = reason, n.
- ``subscribers`` — centre_id, n = active subscriptions at the end of the day.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, delete, func, insert, or_, select

from gateway.clock import SAST
from gateway.store.models import (
    Broadcast,
    DailyFigure,
    Feedback,
    Message,
    Subscription,
    UsageSearch,
    UssdHopLog,
    UssdSessionLog,
)

log = logging.getLogger(__name__)

VERSION = "2"  # 2: reached and ended per screen (the funnel), in place of the drop-off
OPTED_OUT_REASONS = ("OptedOut", "UserInBlacklist", "UserInBlackList")
_OUTCOME = {"delivered": "delivered", "failed": "failed", "sent": "sent", "simulated": "sent",
            "skipped": "skipped", "unknown": "sent"}


def local_day(at: datetime) -> date:
    return at.astimezone(SAST).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants a local (SAST) day starts and ends (end excluded)."""
    start = datetime.combine(day, time(0), SAST).astimezone(UTC)
    return start, start + timedelta(days=1)


def figures_for_day(conn, day: date) -> list[dict]:
    """Every roll-up row of ``day``, computed from the detail tables (nothing written)."""
    start, end = day_bounds(day)
    rows: list[dict] = [_row(day, "day", 1, detail=VERSION)]
    rows += _ussd(conn, day, start, end)
    rows += _searches(conn, day, start, end)
    rows += _sms(conn, day, start, end)
    rows += _feedback(conn, day, start, end)
    rows += _subscribers(conn, day, end)
    return rows


def _row(day: date, metric: str, n: int, centre_id: int | None = 0, channel: str = "", detail: str = "",
         term: str | None = "", amount: float = 0.0) -> dict:
    return {"day": day, "metric": metric, "n": n, "centre_id": centre_id or 0, "channel": (channel or "")[:16],
            "detail": (detail or "")[:64], "term": (term or "")[:80], "amount": float(amount or 0)}


def _ussd(conn, day, start, end) -> list[dict]:
    hops = conn.execute(select(UssdHopLog.session_id, UssdHopLog.caller, UssdHopLog.screen)
                        .where(UssdHopLog.at >= start, UssdHopLog.at < end).order_by(UssdHopLog.at, UssdHopLog.id))
    sessions: dict[str, list] = {}  # session → [hops, last screen, screens shown]
    callers = set()
    total = 0
    for sid, caller, screen in hops:
        total += 1
        callers.add(caller)
        s = sessions.setdefault(sid, [0, "", set()])
        s[0] += 1
        s[1] = screen
        s[2].add(screen)
    if not sessions:
        return []
    # AT's end notifications come shortly after the last hop: look a little past the day.
    status = dict(conn.execute(select(UssdSessionLog.session_id, UssdSessionLog.status).where(
        UssdSessionLog.created_at >= start, UssdSessionLog.created_at < end + timedelta(hours=1))).all())
    out = [_row(day, "ussd_sessions", len(sessions)), _row(day, "ussd_callers", len(callers)),
           _row(day, "ussd_hops", total)]
    for k, n in sorted(Counter(s[0] for s in sessions.values()).items()):
        out.append(_row(day, "hops", n, detail=str(k)))
    reached: Counter = Counter()
    ended: Counter = Counter()
    for sid, (_n, last, shown) in sessions.items():
        reached.update(shown)
        ended[(last, status.get(sid) or "")] += 1
    out += [_row(day, "reached", n, detail=screen) for screen, n in sorted(reached.items())]
    out += [_row(day, "ended", n, channel=at_status, detail=screen)
            for (screen, at_status), n in sorted(ended.items())]
    return out


def _searches(conn, day, start, end) -> list[dict]:
    q = (select(UsageSearch.channel, UsageSearch.kind, UsageSearch.term, UsageSearch.found,
                UsageSearch.centre_id, func.count())
         .where(UsageSearch.at >= start, UsageSearch.at < end)
         .group_by(UsageSearch.channel, UsageSearch.kind, UsageSearch.term, UsageSearch.found, UsageSearch.centre_id))
    wide: Counter = Counter()
    out = []
    for channel, kind, term, found, centre_id, n in conn.execute(q):
        metric = "keyword" if kind == "keyword" else ("search" if found else "search_none")
        wide[(metric, channel, kind, term)] += n
        if metric == "search" and centre_id:
            out.append(_row(day, "search_at", n, centre_id=centre_id, channel=channel, detail=kind, term=term))
    out += [_row(day, metric, n, channel=channel, detail=kind, term=term)
            for (metric, channel, kind, term), n in sorted(wide.items(), key=lambda kv: tuple(map(str, kv[0])))]
    return out


def broadcast_centres(conn) -> dict[int, int]:
    """Broadcast id → the centre a one-centre broadcast (``centre:ID``) went to."""
    found = {}
    for bid, target in conn.execute(select(Broadcast.id, Broadcast.target).where(Broadcast.target.like("centre:%"))):
        ids = target.split(":", 1)[1].split(",")
        if len(ids) == 1 and ids[0].strip().isdigit():
            found[bid] = int(ids[0])
    return found


def _sms(conn, day, start, end) -> list[dict]:
    q = (select(Message.queue, Message.status, Message.failure_reason, Message.broadcast_id,
                func.count(), func.sum(func.coalesce(Message.segments, 1)))
         .where(Message.created_at >= start, Message.created_at < end, Message.direction == "out")
         .group_by(Message.queue, Message.status, Message.failure_reason, Message.broadcast_id))
    centres = None
    tally: dict[tuple, list] = defaultdict(lambda: [0, 0.0])
    for queue, status, reason, bid, n, segments in conn.execute(q):
        if reason in OPTED_OUT_REASONS:
            outcome = "opted_out"
        else:
            outcome = _OUTCOME.get(status, "pending")
        if bid is not None and centres is None:
            centres = broadcast_centres(conn)
        centre = (centres or {}).get(bid, 0) if bid is not None else 0
        key = (queue or "", outcome, reason if outcome == "failed" else "", centre)
        tally[key][0] += n
        tally[key][1] += segments or 0
    out = [_row(day, "sms", n, centre_id=c, channel=qu, detail=o, term=r, amount=seg)
           for (qu, o, r, c), (n, seg) in sorted(tally.items())]
    inbound = conn.execute(select(func.count()).select_from(Message).where(
        Message.created_at >= start, Message.created_at < end, Message.direction == "in")).scalar()
    if inbound:
        out.append(_row(day, "sms_in", inbound))
    return out


def _feedback(conn, day, start, end) -> list[dict]:
    q = (select(Feedback.centre_id, Feedback.rating, Feedback.reason, func.count())
         .where(Feedback.created_at >= start, Feedback.created_at < end)
         .group_by(Feedback.centre_id, Feedback.rating, Feedback.reason))
    return [_row(day, "feedback", n, centre_id=c, detail=str(rating), term=reason)
            for c, rating, reason, n in conn.execute(q)]


def _subscribers(conn, day, end) -> list[dict]:
    q = (select(Subscription.centre_id, func.count())
         .where(Subscription.consented_at < end,
                or_(Subscription.ended_at.is_(None), Subscription.ended_at >= end))
         .group_by(Subscription.centre_id))
    return [_row(day, "subscribers", n, centre_id=c) for c, n in conn.execute(q)]


def rolled_days(conn) -> set[date]:
    """The days with a roll-up, whichever :data:`VERSION` computed it."""
    return set(conn.scalars(select(DailyFigure.day).where(DailyFigure.metric == "day")))


def outdated_days(conn) -> set[date]:
    """The days an older roll-up computed (their figures lack what this one adds)."""
    return set(conn.scalars(select(DailyFigure.day).where(DailyFigure.metric == "day",
                                                          DailyFigure.detail != VERSION)))


def first_day(conn) -> date | None:
    """The first local day any detail exists for (None: no detail at all)."""
    firsts = [conn.scalar(select(func.min(col))) for col in
              (UssdHopLog.at, UsageSearch.at, Message.created_at, Feedback.created_at, Subscription.consented_at)]
    firsts = [f if f.tzinfo else f.replace(tzinfo=UTC) for f in firsts if f is not None]
    return local_day(min(firsts)) if firsts else None


def store_day(rt, day: date) -> int:
    """Replace ``day``'s roll-up with a fresh computation, in one transaction; rows written."""
    with rt.engine.begin() as conn:
        rows = figures_for_day(conn, day)
        conn.execute(delete(DailyFigure).where(DailyFigure.day == day))
        conn.execute(insert(DailyFigure), rows)
    return len(rows)


def retention_cutoff_day(rt) -> date:
    """The first local day whose detail retention still keeps whole."""
    return local_day(rt.clock.now() - timedelta(days=rt.settings.RETENTION_DAYS)) + timedelta(days=1)


def roll_up(rt, force: list[date] | None = None) -> list[date]:
    """Store every closed day with no roll-up yet, the days an older roll-up computed, and the
    days in ``force`` again (never a day retention has emptied, nor today, which is computed on
    demand). Returns the days stored."""
    today = local_day(rt.clock.now())
    with rt.engine.connect() as conn:
        done = rolled_days(conn)
        outdated = outdated_days(conn)
        start = first_day(conn)
    todo = set()
    if start is not None:
        todo = {start + timedelta(days=i) for i in range((today - start).days)} - done
    keep_from = retention_cutoff_day(rt)
    # An emptied day computed again would lose its figures: it keeps the older roll-up.
    todo |= {day for day in outdated if day >= keep_from}
    for day in force or ():
        if day < today and (day >= keep_from or day not in done):
            todo.add(day)
    for day in sorted(todo):
        store_day(rt, day)
    return sorted(todo)


def figures_since(rt, since: date, metrics: tuple[str, ...]) -> list[dict]:
    """The stored rows of ``metrics`` from ``since`` to yesterday, and today's computed now."""
    today = local_day(rt.clock.now())
    cols = (DailyFigure.day, DailyFigure.metric, DailyFigure.centre_id, DailyFigure.channel,
            DailyFigure.detail, DailyFigure.term, DailyFigure.n, DailyFigure.amount)
    with rt.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(*cols).where(
            and_(DailyFigure.metric.in_(metrics), DailyFigure.day >= since, DailyFigure.day < today)))]
        if since <= today:
            rows += [r for r in figures_for_day(conn, today) if r["metric"] in metrics]
    return rows
