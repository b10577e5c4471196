"""Every place that holds data derived from a citizen's number: the registry a privacy request
(:mod:`gateway.staff.privacy`) exports from and erases in.

Contract: :data:`HOLDERS` lists one entry per SQL table or Redis key family. Each entry can
``find`` what it holds about a :class:`Subject` (JSON-safe items) and ``erase`` it (returning
how many rows or keys went). Holders are erased in the order listed: a table whose rows point
at another's comes first. A holder added to the product is one more entry here; the acceptance
test (``tests/staff/test_privacy.py``) seeds a number through every real path and fails when
something holds it that no entry finds.

Kinds:

- :class:`SqlRows` — the rows of a table matched by a WHERE clause built from the subject
  (its E.164 number, or a keyed hash of it computed from the settings).
- :class:`RedisKey` — one key named after the number (``ussd:p:+2782…``).
- :class:`RedisKeysNamed` — the keys named after the number and a suffix
  (``ussd:sms-me:+2782…:2026-12-10``, one a day).
- :class:`RedisScan` — keys of a family (``ussd:s:*``) whose value names the number; a SCAN,
  fine for a rare request (sessions live minutes, so the family is small).
- :class:`RedisStreamEntries` — entries of one stream whose field (or a key of the JSON object
  in it) equals a value derived from the subject: the keyed hash of the caller in the stream
  of USSD hops waiting to be drained into analytics.

The citizen row is not deleted but replaced by the opt-out marker (:func:`_leave_marker`):
the number, ``opted_out`` and when — so bulk never reaches the number again.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import redis
from sqlalchemy import ColumnElement, Connection, Table, delete, insert, or_, select

from config import Settings
from gateway.clock import SAST
from gateway.sms.replies import HELP_THROTTLE_KEY
from gateway.staff.number_lookups import LOOKUP_KEY
from gateway.store.models import (
    Citizen,
    Message,
    PendingDeliveryReport,
    Subscription,
    UsageSearch,
    UssdHopLog,
    utcnow,
)
from gateway.usage.events import STREAM as USAGE_STREAM
from gateway.usage.events import caller_hash
from gateway.ussd.ports import SMS_ME_KEY
from gateway.ussd.sessions import PROFILE_KEY, SESSION_KEY


@dataclass(frozen=True)
class Subject:
    """The number a request is about (E.164) and the settings (for keyed hashes of it)."""

    phone: str
    settings: Settings


@dataclass(frozen=True)
class SqlRows:
    """Rows of ``table`` that ``where(subject)`` selects; erased by DELETE unless ``erase_with``
    says otherwise."""

    name: str
    table: Table
    where: Callable[[Subject], ColumnElement[bool]]
    erase_with: Callable[[Connection, Subject], int] | None = None

    def find(self, conn: Connection, r: redis.Redis, subject: Subject) -> list[dict]:
        pk = list(self.table.primary_key.columns)
        rows = conn.execute(select(self.table).where(self.where(subject)).order_by(*pk)).mappings()
        return [{k: _plain(v) for k, v in row.items()} for row in rows]

    def erase(self, conn: Connection, r: redis.Redis, subject: Subject) -> int:
        if self.erase_with is not None:
            return self.erase_with(conn, subject)
        return conn.execute(delete(self.table).where(self.where(subject))).rowcount


class _WholeKeys:
    """Holders of whole Redis keys: ``keys`` names them; exported dumped, erased by DEL."""

    def keys(self, r: redis.Redis, subject: Subject) -> list[str]:
        raise NotImplementedError

    def find(self, conn: Connection, r: redis.Redis, subject: Subject) -> list[dict]:
        return [_dump_key(r, key) for key in self.keys(r, subject)]

    def erase(self, conn: Connection, r: redis.Redis, subject: Subject) -> int:
        keys = self.keys(r, subject)
        return r.delete(*keys) if keys else 0


@dataclass(frozen=True)
class RedisKey(_WholeKeys):
    """The key ``prefix`` + the number."""

    name: str
    prefix: str

    def keys(self, r: redis.Redis, subject: Subject) -> list[str]:
        key = self.prefix + subject.phone
        return [key] if r.exists(key) else []


@dataclass(frozen=True)
class RedisKeysNamed(_WholeKeys):
    """Keys ``prefix`` + the number + ``:`` + anything; a SCAN (a rare request)."""

    name: str
    prefix: str

    def keys(self, r: redis.Redis, subject: Subject) -> list[str]:
        return sorted(key.decode() for key in r.scan_iter(match=f"{self.prefix}{subject.phone}:*", count=1000))


@dataclass(frozen=True)
class RedisScan(_WholeKeys):
    """Keys matching ``pattern`` whose string value contains the number."""

    name: str
    pattern: str

    def keys(self, r: redis.Redis, subject: Subject) -> list[str]:
        needle = subject.phone.encode()
        keys = list(r.scan_iter(match=self.pattern, count=1000))
        pipe = r.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
        values = pipe.execute(raise_on_error=False) if keys else []  # a non-string answers an error
        return sorted(key.decode() for key, value in zip(keys, values, strict=True)
                      if isinstance(value, bytes) and needle in value)


@dataclass(frozen=True)
class RedisStreamEntries:
    """Entries of the stream ``key`` whose ``field`` equals ``value(subject)``; erased by XDEL.
    The stream is read whole (XRANGE): meant for streams a worker drains, which stay short."""

    name: str
    key: str
    field: str
    value: Callable[[Subject], str]
    json_key: str | None = None  # the field holds a JSON object: compare this key of it

    def _matching(self, r: redis.Redis, subject: Subject) -> list[tuple[bytes, dict]]:
        wanted, name = self.value(subject), self.field.encode()
        return [(entry_id, fields) for entry_id, fields in r.xrange(self.key)
                if self._field(fields.get(name)) == wanted]

    def _field(self, raw: bytes | None) -> str | None:
        if raw is None or self.json_key is None:
            return raw.decode("utf-8", errors="replace") if raw is not None else None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return data.get(self.json_key) if isinstance(data, dict) else None

    def find(self, conn: Connection, r: redis.Redis, subject: Subject) -> list[dict]:
        return [{"key": self.key, "id": entry_id.decode(),
                 "value": {k.decode(): _decoded(v) for k, v in fields.items()}}
                for entry_id, fields in self._matching(r, subject)]

    def erase(self, conn: Connection, r: redis.Redis, subject: Subject) -> int:
        ids = [entry_id for entry_id, _fields in self._matching(r, subject)]
        return r.xdel(self.key, *ids) if ids else 0


Holder = SqlRows | RedisKey | RedisKeysNamed | RedisScan | RedisStreamEntries
REDIS_HOLDERS = (RedisKey, RedisKeysNamed, RedisScan, RedisStreamEntries)


def _plain(value):
    """A column value as JSON can carry it; a time in SAST with its offset (``…T10:00:00+02:00``:
    the database keeps UTC, often without a zone, which a reader would take for local time)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(SAST).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _decoded(raw: bytes):
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _dump_key(r: redis.Redis, key: str) -> dict:
    """One key as ``{"key", "type", "ttl_seconds", "value"}`` whatever its type."""
    kind = r.type(key).decode()
    if kind == "string":
        value = _decoded(r.get(key) or b"")
    elif kind == "hash":
        value = {k.decode(): _decoded(v) for k, v in r.hgetall(key).items()}
    elif kind == "list":
        value = [_decoded(v) for v in r.lrange(key, 0, -1)]
    elif kind == "set":
        value = sorted(_decoded(v) for v in r.smembers(key))
    elif kind == "zset":
        value = [[_decoded(m), s] for m, s in r.zrange(key, 0, -1, withscores=True)]
    elif kind == "stream":
        value = [{"id": i.decode(), **{k.decode(): _decoded(v) for k, v in f.items()}}
                 for i, f in r.xrange(key)]
    else:
        value = None
    return {"key": key, "type": kind, "ttl_seconds": r.ttl(key), "value": value}


def _caller(subject: Subject) -> str:
    """The keyed hash analytics records instead of the number."""
    return caller_hash(subject.settings.analytics_key, subject.phone)


def _citizen_ids(subject: Subject):
    return select(Citizen.id).where(Citizen.phone == subject.phone).scalar_subquery()


def _leave_marker(conn: Connection, subject: Subject) -> int:
    """The citizen row becomes the opt-out marker: the number, opted out, when — nothing else
    (language, consent history and first contact go). Written even for a number never seen, so
    that no later import or broadcast reaches it."""
    removed = conn.execute(delete(Citizen).where(Citizen.phone == subject.phone)).rowcount
    now = utcnow()
    conn.execute(insert(Citizen).values(phone=subject.phone, language="en", opted_out=True,
                                        opted_out_at=now, created_at=now))
    return removed


HOLDERS: tuple[Holder, ...] = (
    # Reports waiting for their message: by number, or by the AT id of one of its messages.
    SqlRows("pending_delivery_reports", PendingDeliveryReport.__table__,
            lambda s: or_(PendingDeliveryReport.phone == s.phone,
                          PendingDeliveryReport.at_message_id.in_(
                              select(Message.at_message_id).where(Message.phone == s.phone,
                                                                  Message.at_message_id.is_not(None))))),
    # Every SMS to or from the number (outbound keys such as bc:<id>:<number> go with the row).
    SqlRows("messages", Message.__table__, lambda s: Message.phone == s.phone),
    SqlRows("subscriptions", Subscription.__table__, lambda s: Subscription.citizen_id == _citizen_ids(s)),
    SqlRows("citizens", Citizen.__table__, lambda s: Citizen.phone == s.phone, erase_with=_leave_marker),
    RedisKey("ussd_profile", PROFILE_KEY),
    RedisKey("sms_help_throttle", HELP_THROTTLE_KEY),
    RedisKeysNamed("ussd_sms_me", SMS_ME_KEY),
    RedisScan("ussd_sessions", SESSION_KEY + "*"),
    # A number staff typed to read its message log, held 15 minutes for paging.
    RedisScan("staff_message_log_lookups", LOOKUP_KEY + "*"),
    # Analytics keep a keyed hash, not the number: still derived from it, so it goes too (the
    # daily roll-ups keep only counts and stay).
    SqlRows("usage_hops", UssdHopLog.__table__, lambda s: UssdHopLog.caller == _caller(s)),
    SqlRows("usage_searches", UsageSearch.__table__, lambda s: UsageSearch.caller == _caller(s)),
    RedisStreamEntries("usage_stream", USAGE_STREAM, "j", _caller, json_key="c"),
)
