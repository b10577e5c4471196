"""``thusong demo seed``: realistic usage for demos and the analytics benchmark.

Contract: :func:`seed` writes ``days`` days ending today (Africa/Johannesburg; today up to now)
of USSD sessions walked through the real journey's screens (hops, searches with found and
not-found places, AT end notifications, drop-offs), SMS (inbound keywords and their replies,
SMS-me, one broadcast each weekday to one centre's subscribers, with delivered / failed / opted-out
outcomes and segments), feedback, citizens and subscriptions — about 2,900 hops and 550
outbound SMS a day (365 days: over a million hops and 200,000 SMS) — with bulk inserts (COPY on
PostgreSQL), then rolls up every closed day. Numbers are fictitious (+27 82 9xx xxxx);
callers are hashed like real ones. Refused when the database already holds usage (it would
mix with real figures) or in production. The same ``rng_seed`` and day give the same data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, insert, select, text

from gateway.clock import SAST
from gateway.store.models import (
    Broadcast,
    Centre,
    Citizen,
    Feedback,
    Message,
    Service,
    Subscription,
    UsageSearch,
    UssdHopLog,
)
from gateway.usage import rollup
from gateway.usage.events import caller_hash

SESSIONS_PER_DAY = 640
BULK_PER_DAY = 400
INBOUND_PER_DAY = 110
FEEDBACK_REASONS = ("queue", "staff", "unavailable", "closed", "good", None)
FOUND_PLACES = ("soweto", "kagiso", "mthatha", "khayelitsha", "umlazi", "kwamashu", "sebokeng",
                "polokwane", "mahikeng", "bloemfontein", "kimberley", "nelspruit", "durban", "tembisa",
                "mamelodi", "gugulethu", "botshabelo", "thohoyandou", "giyani", "qwaqwa")
MISSING_PLACES = ("xyzzyville", "kwanobuhle ext 9", "mabopane block x", "ezibeleni", "mandela park",
                  "slovo park", "phola park")
UNKNOWN_WORDS = ("hi", "hello", "sassa", "grant", "job", "soweto", "id", "help me", "thanks", "ok")
# (weight, screens a caller walks; "?" = the typed-place prompt, "@" = a service prompt)
PATHS = (
    (34, ("main", "find_place", "?", "nearest", "centre", "centre_details")),
    (12, ("main", "find_place", "?", "nearest", "centre", "sms_sent")),
    (5, ("main", "find_place", "?", "nearest", "centre", "subscribe_confirm", "subscribed")),
    (14, ("main", "provinces", "municipalities", "centres", "centre", "centre_services")),
    (12, ("main", "services", "@", "service_where", "service_place", "?", "service_centres", "centre")),
    (10, ("main", "rate_place", "?", "rate_pick", "rate", "rate_reason", "thanks")),
    (5, ("main", "my_notices", "notice_list")),
    (4, ("main", "language", "main")),
)
FAIL_REASONS = ("DeliveryFailure", "AbsentSubscriber", "UserDoesNotExist", "InsufficientCredit", "Expired")


class SeedRefused(RuntimeError):
    """The database already holds usage, or this is production: nothing was written."""


@dataclass
class _Batch:
    hops: list[tuple] = field(default_factory=list)
    searches: list[tuple] = field(default_factory=list)
    ends: list[tuple] = field(default_factory=list)
    messages: list[tuple] = field(default_factory=list)
    feedback: list[tuple] = field(default_factory=list)


HOP_COLS = ("at", "session_id", "caller", "screen", "end")
SEARCH_COLS = ("event_id", "at", "channel", "kind", "term", "found", "centre_id", "caller")
END_COLS = ("session_id", "status", "hops", "duration_ms", "last_screen", "input", "created_at")
MESSAGE_COLS = ("direction", "idempotency_key", "phone", "text", "queue", "status", "failure_reason",
                "segments", "encoding", "attempts", "resends", "broadcast_id", "created_at", "updated_at")
FEEDBACK_COLS = ("centre_id", "rating", "reason", "language", "created_at")


def _copy(conn, table: str, cols: tuple[str, ...], rows: list[tuple]) -> None:
    """Bulk insert: COPY on PostgreSQL (many times faster than INSERTs), executemany elsewhere."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in cols)  # quoted: ussd_hops has a column named "end"
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in cols)
    conn.connection.driver_connection.executemany(
        f"INSERT INTO {table} ({names}) VALUES ({marks})",
        [tuple(_sqlite(v) for v in row) for row in rows])


def _sqlite(value):
    # SQLAlchemy stores SQLite times as naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'.
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


def _check_empty(rt) -> None:
    if rt.settings.is_production:
        raise SeedRefused("demo seed is refused in production")
    with rt.sessions() as s:
        for model in (UssdHopLog, Message, Feedback, UsageSearch):
            if s.scalar(select(func.count()).select_from(model)):
                raise SeedRefused(f"the database already holds usage ({model.__tablename__}): "
                                  "demo data would mix with it; seed an empty database")


def seed(rt, days: int, rng_seed: int = 11, progress=None) -> dict:
    """Write ``days`` days of demo usage and roll them up; returns counts written."""
    _check_empty(rt)
    rng = random.Random(rng_seed)
    with rt.sessions() as s:
        centres = list(s.scalars(select(Centre.id).where(Centre.active.is_(True)).order_by(Centre.id)))
        services = list(s.scalars(select(Service.code).order_by(Service.code)))
    if not centres:
        raise SeedRefused("no centres: import them first (thusong centres import, or thusong run)")
    phones = [f"+27829{n:06d}" for n in rng.sample(range(1_000_000), 20_000)]
    key = rt.settings.analytics_key
    callers = [caller_hash(key, p) for p in phones]
    now = rt.clock.now()
    today = rollup.local_day(now)
    first = today - timedelta(days=days - 1)
    weights = [w for w, _p in PATHS]
    # A place (or a service) typed leads to the same few centres each time, as it does live.
    near = {term: rng.sample(centres, min(2, len(centres))) for term in (*FOUND_PLACES, *services)}
    totals = {"hops": 0, "sessions": 0, "sms_out": 0, "sms_in": 0, "feedback": 0, "searches": 0}
    subscribers = _citizens_and_subscriptions(rt, rng, phones, centres, first, now)
    search_id = 0
    for offset in range(days):
        day = first + timedelta(days=offset)
        start = datetime.combine(day, time(6, 30), SAST)
        weekday = day.weekday()
        scale = (0.55 if weekday == 6 else 0.75 if weekday == 5 else 1.0) * (0.85 + 0.3 * offset / max(days, 1))
        b = _Batch()
        for n in range(int(SESSIONS_PER_DAY * scale * 1.07)):
            at = start + timedelta(seconds=rng.uniform(0, 13.5 * 3600))
            if at > now:
                continue
            who = rng.randrange(len(phones))
            sid = f"demo-{day:%Y%m%d}-{n}"
            path = list(rng.choices(PATHS, weights)[0][1])
            search_id = _session(rng, b, sid, callers[who], path, at, near, services, search_id)
        _sms_day(rt, rng, b, day, start, now, phones, centres, near, subscribers, scale)
        with rt.engine.begin() as conn:
            _copy(conn, "ussd_hops", HOP_COLS, b.hops)
            _copy(conn, "usage_searches", SEARCH_COLS, b.searches)
            _copy(conn, "ussd_sessions", END_COLS, b.ends)
            _copy(conn, "messages", MESSAGE_COLS, b.messages)
            _copy(conn, "feedback", FEEDBACK_COLS, b.feedback)
        totals["hops"] += len(b.hops)
        totals["sessions"] += len({h[1] for h in b.hops})
        totals["sms_out"] += sum(1 for m in b.messages if m[0] == "out")
        totals["sms_in"] += sum(1 for m in b.messages if m[0] == "in")
        totals["feedback"] += len(b.feedback)
        totals["searches"] += len(b.searches)
        if progress:
            progress(offset + 1, days)
    totals["days_rolled_up"] = len(rollup.roll_up(rt))
    with rt.engine.begin() as conn:
        # Fresh planner statistics after a million rows (autovacuum would get there later).
        conn.execute(text("ANALYZE"))
    if rt.engine.dialect.name == "sqlite":
        with rt.engine.connect() as conn:
            # Fold the write-ahead log into the database: readers otherwise search a log of
            # hundreds of megabytes until SQLite's own checkpoint catches up.
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return totals


def _session(rng, b: _Batch, sid: str, caller: str, path: list[str], at: datetime, near, services,
             search_id: int) -> int:
    """One session's hops (and its searches, feedback, end notification) into ``b``."""
    # A quarter of callers give up before the journey's end, on any screen after the first.
    drop = rng.random() < 0.25
    screens: list[str] = []
    picked = None  # the centre the caller's place search found (a rating is for it)
    for step in path:
        if step == "?":
            place_ok = rng.random() < 0.85
            term = rng.choice(FOUND_PLACES if place_ok else MISSING_PLACES)
            search_id += 1
            picked = rng.choice(near[term]) if place_ok else None
            b.searches.append((f"demo:{search_id}", at, "ussd", "place", term, place_ok, picked, caller))
            if not place_ok:
                screens.append(screens[-1])  # re-asked with a hint
                if rng.random() < 0.5:
                    break  # gives up after the miss
                search_id += 1
                term = rng.choice(FOUND_PLACES)
                picked = rng.choice(near[term])
                b.searches.append((f"demo:{search_id}", at, "ussd", "place", term, True, picked, caller))
            continue
        if step == "@":
            search_id += 1
            code = rng.choice(services)
            b.searches.append((f"demo:{search_id}", at, "ussd", "service", code, True, rng.choice(near[code]),
                               caller))
            continue
        screens.append(step)
    if drop and len(screens) > 2:
        screens = screens[:rng.randrange(2, len(screens))]
    ended = screens[-1] in ("sms_sent", "subscribed", "thanks")
    for i, screen in enumerate(screens):
        b.hops.append((at + timedelta(seconds=8 * i), sid, caller, screen, ended and i == len(screens) - 1))
    if screens[-1] == "thanks":
        rating = rng.choices((1, 2, 3, 4, 5), (8, 10, 20, 32, 30))[0]
        b.feedback.append((picked, rating, rng.choice(FEEDBACK_REASONS), "en", at))
    roll = rng.random()
    if roll < 0.05:
        return search_id  # no end notification came
    status = "Success" if ended else ("Failed" if roll < 0.15 else "Incomplete")
    b.ends.append((sid, status, len(screens), 8000 * len(screens), screens[-1], None,
                   at + timedelta(seconds=8 * len(screens) + 2)))
    return search_id


def _citizens_and_subscriptions(rt, rng, phones, centres, first, now) -> dict[int, list[str]]:
    """6,000 citizens, each subscribed to a centre at some point in the period (a few left)."""
    start = datetime.combine(first, time(8), SAST).astimezone(UTC)  # SQLite keeps the fields as given
    span = max((now - start).total_seconds(), 3600)
    by_centre: dict[int, list[str]] = {c: [] for c in centres}
    # A few centres draw most subscribers, as real ones do.
    weights = [rng.paretovariate(1.2) for _ in centres]
    with rt.engine.begin() as conn:
        citizens = [{"phone": p, "language": rng.choice(("en", "zu", "xh", "st", "tn", "af")),
                     "opted_out": i % 50 == 0, "created_at": start} for i, p in enumerate(phones[:6000])]
        conn.execute(insert(Citizen), citizens)
        ids = dict(conn.execute(select(Citizen.phone, Citizen.id).where(Citizen.phone.in_(phones[:6000]))).all())
        subs = []
        for p in phones[:6000]:
            centre = rng.choices(centres, weights)[0]
            consented = start + timedelta(seconds=rng.uniform(0, span))
            ended = consented + timedelta(days=rng.uniform(5, 200)) if rng.random() < 0.1 else None
            subs.append({"citizen_id": ids[p], "centre_id": centre, "consented_at": consented,
                         "ended_at": ended if ended and ended < now else None})
            by_centre[centre].append(p)
        conn.execute(insert(Subscription), subs)
    return by_centre


def _sms_day(rt, rng, b: _Batch, day, start: datetime, now: datetime, phones, centres, near, subscribers,
             scale: float) -> None:
    """Inbound keywords with their replies and searches, and one broadcast to one centre."""
    last_day = day == rollup.local_day(now)
    stamp = f"{day:%Y%m%d}"
    for n in range(int(INBOUND_PER_DAY * scale)):
        at = start + timedelta(seconds=rng.uniform(0, 13 * 3600))
        if at > now:
            continue
        phone = rng.choice(phones)
        kind = rng.random()
        if kind < 0.7:
            ok = rng.random() < 0.88
            term = rng.choice(FOUND_PLACES if ok else MISSING_PLACES)
            text = f"CENTRE {term.title()}"
            b.searches.append((f"demo:sms:{stamp}:{n}", at, "sms", "place", term, ok,
                               rng.choice(near[term]) if ok else None, None))
        else:
            word = rng.choice(UNKNOWN_WORDS)
            text = word.title()
            b.searches.append((f"demo:sms:{stamp}:{n}", at, "sms", "keyword", word.split()[0], False, None, None))
        b.messages.append(("in", f"demo:in:{stamp}:{n}", phone, text, None, "processed", None, 1, "GSM-7", 1, 0,
                           None, at, at))
        b.messages.append(_out(rng, f"demo:reply:{stamp}:{n}", phone, "Nearest Thusong centre: …", "replies",
                               at + timedelta(seconds=3), last_day, None, 1))
    # SMS-me from USSD sessions
    for hop in b.hops:
        if hop[3] == "sms_sent":
            b.messages.append(_out(rng, f"demo:me:{hop[1]}", rng.choice(phones), "Thusong centre details …",
                                   "replies", hop[0] + timedelta(seconds=1), last_day, None, 2))
    # One broadcast a day to one centre (weekends none), about BULK_PER_DAY recipients.
    if day.weekday() < 5:
        centre = rng.choice([c for c in centres if subscribers.get(c)] or centres)
        at = (start + timedelta(hours=3)).astimezone(UTC)
        if at <= now:
            with rt.engine.begin() as conn:
                bid = conn.execute(insert(Broadcast).values(
                    target=f"centre:{centre}", text="[demo] Home Affairs mobile unit on Tuesday 09:00",
                    full_text="Thusong: [demo] Home Affairs mobile unit on Tuesday 09:00. Reply STOP to opt out",
                    status="sent", recipients=0, created_at=at, updated_at=at).returning(Broadcast.id)).scalar_one()
            pool = subscribers.get(centre) or phones
            count = int(BULK_PER_DAY * scale * 1.4)
            for i in range(count):
                phone = pool[i % len(pool)] if i < len(pool) else rng.choice(phones)
                b.messages.append(_out(rng, f"demo:bc:{bid}:{i}", phone, "Thusong: [demo] Home Affairs …", "bulk",
                                       at + timedelta(seconds=i // 20), last_day, bid, 2))


def _out(rng, key, phone, text, queue, at, last_day: bool, broadcast_id, segments) -> tuple:
    r = rng.random()
    reason = None
    if r < 0.02 and queue == "bulk":
        status, reason = "skipped", "OptedOut"
    elif r < 0.07:
        status, reason = "failed", rng.choice(FAIL_REASONS)
    elif last_day and r < 0.3:
        status = "sent"  # no delivery report yet
    else:
        status = "delivered"
    return ("out", key, phone, text, queue, status, reason, segments, "GSM-7", 1, 0, broadcast_id, at, at)
