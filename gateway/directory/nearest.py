"""Centres directory: the nearest-centre search over an in-memory snapshot.

Contract: :class:`Directory` answers "nearest active centres to what the citizen typed" with
the matched place and great-circle distances; centres without coordinates are still found
through their town, municipality or province. :attr:`Directory.version` changes with every
reload.

Freshness across processes: every edit or import calls :meth:`Directory.changed`, which sets a
new random version in Redis (:data:`VERSION_KEY`). Each process compares that version with the one
it loaded at most once every ``check_every`` seconds (1 s: a hop in between pays one
``time.monotonic()``, no Redis round trip) and reloads when it moved, so an edit shows in every
web worker and RQ worker within about a second. The TTL reload stays as a backstop for a
change that bypassed :meth:`~Directory.changed` (SQL by hand) or a Redis that was unreachable.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from gateway.directory.catalogue import PROVINCES
from gateway.directory.gazetteer import Gazetteer, Place
from gateway.store.models import Centre
from menus.text import fold

log = logging.getLogger(__name__)
VERSION_KEY = "thusong:directory:version"  # INCR on every change; compared, never parsed
_UNSEEN = object()


@dataclass(frozen=True)
class CentreEntry:
    """What the nearest search needs of a centre, held in memory."""

    id: int
    name: str
    town: str | None
    phone: str | None
    province: str | None  # province code
    municipality: str | None
    latitude: float | None
    longitude: float | None
    town_key: str


@dataclass(frozen=True)
class Nearby:
    centre: CentreEntry
    distance_km: float | None  # None: no coordinates, matched by town/municipality/province


@dataclass(frozen=True)
class NearestResult:
    place: Place | None
    centres: list[Nearby]


def _unit(lat: float, lon: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    return math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class _Snapshot:
    """One load of the active centres, never changed once published: a thread that worked
    out an answer on it stores that answer in its own ``by_place``, so an answer from an older
    load can never be kept for a newer one."""

    entries: list[CentreEntry]
    points: list[tuple[CentreEntry, float, float, float]]  # entry, unit vector
    loaded_at: float
    wanted: int  # the reloads asked for when this one began (see Directory._wanted)
    by_place: dict[tuple[str, int], list[Nearby]] = field(default_factory=dict)


_NOTHING = _Snapshot([], [], -math.inf, 0)


class Directory:
    """Nearest-centre search over an in-memory snapshot of active centres.

    The snapshot reloads when the shared version in ``redis`` moved (looked at every
    ``check_every`` seconds) or after ``ttl`` seconds, whichever comes first. Shared by a web
    worker's threads: one thread reloads at a time; once a change is seen, every thread waits
    for a reload begun after it (none answers the old centres), while at the TTL the others
    answer from the snapshot they have.
    """

    def __init__(self, sessions: sessionmaker[Session], gazetteer: Gazetteer, ttl: float = 60.0,
                 redis=None, check_every: float = 1.0):
        self._sessions, self.gazetteer, self._ttl = sessions, gazetteer, ttl
        self._redis, self._check_every = redis, check_every
        self._seen: object = _UNSEEN  # the shared version last seen in Redis
        self._checked_at = -math.inf
        self._snap = _NOTHING
        # Counts the reloads asked for (a change seen, an expiry); a snapshot that began before
        # the last of them is owed a reload, whether or not another is already under way.
        self._wanted = 1
        self._reloading = threading.Lock()
        self._failed_at = -math.inf  # when the last reload failed

    def refresh(self) -> None:
        """Reload now (waiting for a reload another thread has under way, then reading again)."""
        with self._reloading:
            self._load()

    def expire(self) -> None:
        """Make the next read reload (the centres were changed behind this process's back)."""
        self._wanted += 1

    def _owed(self) -> bool:
        return self._snap.wanted != self._wanted

    def _load(self) -> None:
        try:
            self._snap = self._read(self._wanted)  # taken before reading: a change seen meanwhile is still owed
        except BaseException:
            self._failed_at = time.monotonic()
            raise

    def _read(self, wanted: int) -> _Snapshot:
        code_of = {name: code for code, name, _o in PROVINCES}
        with self._sessions() as session:
            rows = session.scalars(
                select(Centre).where(Centre.active.is_(True))
                .options(selectinload(Centre.province), selectinload(Centre.municipality))
            ).all()
            entries = [
                CentreEntry(c.id, c.name, c.town, c.phone,
                            code_of.get(c.province.name) if c.province else None,
                            c.municipality.name if c.municipality else None,
                            c.latitude, c.longitude, fold(c.town or ""))
                for c in rows
            ]
        points = [(e, *_unit(e.latitude, e.longitude)) for e in entries if e.latitude is not None]
        return _Snapshot(entries, points, time.monotonic(), wanted)  # published whole, by one assignment

    def _current(self) -> _Snapshot:
        now = time.monotonic()
        if now - self._checked_at >= self._check_every:
            shared = self._shared_version()
            if shared is not None and shared != self._seen:
                self._seen = shared
                self._wanted += 1
            # Set after the look, not before: a thread that skips the look finds what it found.
            self._checked_at = now
        if self._owed():
            # A change was announced: wait for its reload rather than answer the old centres,
            # unless the last try failed a moment ago (a database that is down is not asked
            # again by every waiting thread in turn: they answer from the snapshot they have).
            with self._reloading:
                if self._owed() and (self._snap is _NOTHING or time.monotonic() - self._failed_at >= self._check_every):
                    self._load()
        elif now - self._snap.loaded_at > self._ttl:
            # Only the minute is up: one thread reloads, the others answer from what they have.
            if self._reloading.acquire(blocking=False):
                try:
                    if time.monotonic() - self._snap.loaded_at > self._ttl:
                        self._load()
                finally:
                    self._reloading.release()
        return self._snap

    def entries(self) -> list[CentreEntry]:
        return self._current().entries

    def _shared_version(self) -> bytes | None:
        """The version in Redis (empty before the first change); None without Redis or when it
        cannot be read (the TTL then keeps the snapshot fresh enough)."""
        if self._redis is None:
            return None
        try:
            return self._redis.get(VERSION_KEY) or b""
        except Exception as exc:  # redis errors, timeouts: a stale minute beats a failed hop
            log.warning("directory version unreadable (%s): relying on the %.0f s reload", type(exc).__name__,
                        self._ttl)
            return None

    def changed(self) -> None:
        """Say the centres changed (an edit or an import was committed): bump the shared
        version so every process reloads within ``check_every``, and reload this one now."""
        if self._redis is not None:
            # A new random version, not a counter: a counter restarted from zero (Redis restarted
            # empty) could hand this change the number another process last saw.
            version = uuid.uuid4().hex.encode()
            try:
                self._redis.set(VERSION_KEY, version)
                self._seen = version
            except Exception as exc:  # the change is committed: other processes see it at their TTL
                log.error("directory version not bumped (%s): other processes reload within %.0f s",
                          type(exc).__name__, self._ttl)
        self._checked_at = time.monotonic()
        self.refresh()

    @property
    def version(self) -> float:
        """Changes whenever the snapshot is reloaded: caches built on it key on this."""
        return self._current().loaded_at

    def nearest(self, text: str, limit: int = 3) -> NearestResult:
        """Up to ``limit`` active centres nearest to the place ``text`` names."""
        place = self.gazetteer.resolve(text)
        if place is None:
            return NearestResult(None, [])
        return NearestResult(place, self.nearest_to(place, limit))

    def nearest_to(self, place: Place, limit: int = 3) -> list[Nearby]:
        snap = self._current()
        cache_key = (f"{place.name}|{place.latitude}|{place.longitude}", limit)
        cached = snap.by_place.get(cache_key)
        if cached is None:
            cached = snap.by_place[cache_key] = nearest_in(snap.points, snap.entries, place, limit)
        return cached


def nearest_in(points: list[tuple[CentreEntry, float, float, float]], entries: list[CentreEntry], place: Place,
               limit: int) -> list[Nearby]:
    """The ``limit`` centres nearest to ``place`` among ``entries`` (``points``: those with
    coordinates, each with its unit vector), worked out afresh."""
    # Rank by the dot product of unit vectors (larger = nearer), then compute great-circle
    # distances only for the few kept: same order as haversine, a fraction of the work.
    x, y, z = _unit(place.latitude, place.longitude)
    ranked = sorted(points, key=lambda p: -(x * p[1] + y * p[2] + z * p[3]))[:limit]
    found: list[tuple[float, Nearby]] = []
    for e, *_xyz in ranked:
        d = haversine_km(place.latitude, place.longitude, e.latitude, e.longitude)
        found.append((d, Nearby(e, round(d, 1))))
    name_key = fold(place.name)
    for e in entries:
        if e.latitude is not None:
            continue
        if e.town_key and name_key in e.town_key:
            found.append((0.0, Nearby(e, None)))  # same town, no point: as good as there
        elif e.province and e.province == place.province:
            # Same province, no point: ranked as if 150 km away, so a centre we can
            # measure and that is clearly closer still comes first.
            found.append((150.0, Nearby(e, None)))
    found.sort(key=lambda pair: (pair[0], pair[1].centre.name))
    return [n for _d, n in found[:limit]]
