"""What a broadcast's page and ``thusong broadcast status`` show, read from the rows: the
counts (:func:`progress`), why rows did not go (:func:`failures`), and when a broadcast starts
or resumes (:func:`start_of`; :func:`starts_at` is the rule scheduling applies: the requested
time, moved to the next quiet-hours window if it falls outside one). Reads only; the
transitions are :mod:`gateway.staff.broadcasts`'."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from gateway.sms import bulk
from gateway.sms.quiet_hours import next_allowed
from gateway.store.models import Broadcast, Message


def utc(dt: datetime | None) -> datetime | None:
    """``dt`` in UTC, as every time is stored (SQLite keeps no offset: naive means UTC)."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def starts_at(rt, at: datetime | None = None) -> datetime:
    """When a broadcast asked for ``at`` (None: now) will start: the quiet-hours rule applied."""
    now = rt.clock.now()
    return next_allowed(max(utc(at) or now, now), bulk.schedule_of(rt.settings))


def progress(rt, broadcast_id: int) -> dict[str, int]:
    """Counts of the broadcast's rows: queued (not yet settled), sent, delivered, failed,
    opted_out, cancelled, and total. One grouped query."""
    counts = dict.fromkeys(("queued", "sent", "delivered", "failed", "opted_out", "cancelled"), 0)
    with rt.sessions() as s:
        rows = s.execute(select(Message.status, Message.failure_reason, func.count())
                         .where(Message.broadcast_id == broadcast_id)
                         .group_by(Message.status, Message.failure_reason)).all()
    for status, reason, n in rows:
        if status in bulk.WAITING:
            counts["queued"] += n
        elif status in ("sent", "simulated"):
            counts["sent"] += n
        elif status == "skipped":
            counts["opted_out" if reason == "OptedOut" else "cancelled"] += n
        elif status in counts:
            counts[status] += n
    counts["total"] = sum(n for _s, _r, n in rows)
    return counts


def failures(rt, broadcast_id: int) -> list[tuple[str, int]]:
    """Why rows did not go or did not arrive: (reason, rows) for failed and skipped rows, most
    first (``OptedOut``, ``Cancelled``, AT's reasons such as ``InsufficientCredit``)."""
    with rt.sessions() as s:
        rows = s.execute(select(Message.failure_reason, func.count())
                         .where(Message.broadcast_id == broadcast_id, Message.status.in_(("failed", "skipped")))
                         .group_by(Message.failure_reason)).all()
    return sorted(((reason or "Failed", n) for reason, n in rows), key=lambda r: (-r[1], r[0]))


@dataclass(frozen=True)
class Start:
    """When a broadcast starts (or resumes): ``at`` in UTC; ``now`` if at once when released;
    ``held`` if quiet hours moved it later than asked."""

    at: datetime
    now: bool
    held: bool


def start_of(rt, row: Broadcast | None = None, at: datetime | None = None) -> Start | None:
    """When ``row`` starts — if released now, for one not yet approved — or, with no row, a
    broadcast asked for ``at``; ``None`` once it has started (or ended) for good."""
    now, schedule = rt.clock.now(), bulk.schedule_of(rt.settings)
    if row is not None and row.status == "paused":
        return Start(next_allowed(now, schedule), False, True)
    if row is not None and row.status == "scheduled":
        start = utc(row.scheduled_at)
        before = start - timedelta(seconds=1)  # closed just before: it waits for a window to open
        return Start(start, start <= now, next_allowed(before, schedule) > before)
    if row is not None and row.status not in ("draft", "pending_approval", "approved"):
        return None
    asked = max(utc(row.scheduled_at if row is not None else at) or now, now)
    start = next_allowed(asked, schedule)
    return Start(start, start <= now, start > asked)
