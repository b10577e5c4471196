"""Recording usage without slowing a hop.

Contract: :func:`caller_hash` is the only way a number enters analytics (HMAC-SHA256 with
``ANALYTICS_HASH_KEY``, cut to 128 bits). :func:`hop_event` builds the stream entry a USSD hop
appends (``XADD STREAM MAXLEN ~ STREAM_CAP``) in the pipeline that already saves its session,
so recording adds no round trip; if the drain falls far behind, the oldest entries are the
ones trimmed. :func:`drain` moves the stream into SQL (``ussd_hops``, ``usage_searches``):
each entry is inserted at most once (its stream id is a unique column) and deleted from the
stream after its rows are committed. :func:`record_sms_searches` writes an SMS keyword's
searches directly: it runs in a worker, where one insert costs nothing anyone waits for
(keyed by the message, so a retried answer records them once).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime

import orjson
from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite

from gateway.store.models import TERM_CHARS, UsageSearch, UssdHopLog

log = logging.getLogger(__name__)

STREAM = "usage:hops"
STREAM_CAP = 200_000  # ~ a busy day of hops: room for a worker outage of hours
DRAIN_LOCK = "usage:drain:lock"
DRAIN_BATCH = 2000


def caller_hash(key: bytes, phone: str) -> str:
    """The keyed hash that stands for a number in analytics (never the number itself)."""
    return hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()[:32]


def clean_term(text: str) -> str:
    """A typed term as counted: trimmed, spaces collapsed, lower case, within the column."""
    return " ".join(text.split()).lower()[:TERM_CHARS]


def hop_event(key: bytes, phone: str, session_id: str, screen: str, end: bool,
              searches: list[dict], at: float) -> dict[str, bytes]:
    """The stream entry for one hop: a single JSON field (one allocation, one parse)."""
    return {"j": orjson.dumps({"t": at, "s": session_id, "c": caller_hash(key, phone), "sc": screen[:64],
                               "e": int(end), "q": searches})}


def _insert(engine, model):
    """INSERT … ON CONFLICT DO NOTHING on the stream id (SQLite and PostgreSQL alike)."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(engine.dialect.name)
    if dialect is None:
        return insert(model)
    return dialect.insert(model).on_conflict_do_nothing(index_elements=["event_id"])


def drain(rt, batch: int = DRAIN_BATCH) -> int:
    """Move every entry now in the stream into SQL; returns how many hops were stored.
    One drain at a time (a Redis lock): two would only race for the same entries."""
    if not rt.redis.set(DRAIN_LOCK, "1", nx=True, ex=300):
        return 0
    stored = 0
    try:
        while True:
            entries = rt.redis.xrange(STREAM, count=batch)
            if not entries:
                return stored
            hops, searches = [], []
            for entry_id, fields in entries:
                eid = entry_id.decode()
                try:
                    data = json.loads(fields[b"j"])
                    at = datetime.fromtimestamp(float(data["t"]), UTC)
                    hops.append({"event_id": eid, "at": at, "session_id": str(data["s"])[:255],
                                 "caller": data["c"], "screen": data["sc"], "end": bool(data["e"])})
                    for i, q in enumerate(data.get("q") or ()):
                        searches.append({"event_id": f"{eid}:{i}", "at": at, "channel": "ussd",
                                         "kind": q["k"], "term": clean_term(q["t"]), "found": bool(q["f"]),
                                         "centre_id": q.get("c"), "caller": data["c"]})
                except (KeyError, TypeError, ValueError):
                    log.warning("usage stream entry %s unreadable: dropped", eid)
            with rt.engine.begin() as conn:
                if hops:
                    conn.execute(_insert(rt.engine, UssdHopLog), hops)
                if searches:
                    conn.execute(_insert(rt.engine, UsageSearch), searches)
            rt.redis.xdel(STREAM, *[e for e, _f in entries])
            stored += len(hops)
    finally:
        rt.redis.delete(DRAIN_LOCK)


def record_sms_searches(rt, message_id: int, phone: str, searches: list[dict], at: datetime) -> None:
    """An inbound SMS's searches (``{"k": kind, "t": term, "f": found, "c": centre}``); once per
    message, however often its answer is tried."""
    if not searches:
        return
    caller = caller_hash(rt.settings.analytics_key, phone)
    with rt.engine.begin() as conn:
        conn.execute(_insert(rt.engine, UsageSearch), [
            {"event_id": f"sms:{message_id}:{i}", "at": at, "channel": "sms", "kind": q["k"], "term": clean_term(q["t"]),
             "found": bool(q["f"]), "centre_id": q.get("c"), "caller": caller} for i, q in enumerate(searches)])
