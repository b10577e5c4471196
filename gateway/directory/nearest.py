"""Centres directory: the nearest-centre search over an in-memory snapshot.

Contract: :class:`Directory` answers "nearest active centres to what the citizen typed" with
the matched place and great-circle distances; centres without coordinates are still found
through their town, municipality or province. The snapshot reloads after its TTL, so staff
edits show without a restart; :attr:`Directory.version` changes with every reload.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from gateway.directory.catalogue import PROVINCES
from gateway.directory.gazetteer import Gazetteer, Place
from gateway.store.models import Centre
from menus.text import fold


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


class Directory:
    """Nearest-centre search over an in-memory snapshot of active centres.

    The snapshot is reloaded after ``ttl`` seconds so staff edits show up without a restart.
    """

    def __init__(self, sessions: sessionmaker[Session], gazetteer: Gazetteer, ttl: float = 60.0):
        self._sessions, self.gazetteer, self._ttl = sessions, gazetteer, ttl
        self._entries: list[CentreEntry] = []
        self._points: list[tuple[CentreEntry, float, float, float]] = []  # entry, unit vector
        self._by_place: dict[tuple[str, int], list[Nearby]] = {}
        self._loaded_at = -math.inf

    def refresh(self) -> None:
        code_of = {name: code for code, name, _o in PROVINCES}
        with self._sessions() as session:
            rows = session.scalars(
                select(Centre).where(Centre.active.is_(True))
                .options(selectinload(Centre.province), selectinload(Centre.municipality))
            ).all()
            self._entries = [
                CentreEntry(c.id, c.name, c.town, c.phone,
                            code_of.get(c.province.name) if c.province else None,
                            c.municipality.name if c.municipality else None,
                            c.latitude, c.longitude, fold(c.town or ""))
                for c in rows
            ]
        self._points = [(e, *_unit(e.latitude, e.longitude)) for e in self._entries if e.latitude is not None]
        # Answers depend only on the place and this snapshot: keep them until the next refresh.
        self._by_place = {}
        self._loaded_at = time.monotonic()

    def entries(self) -> list[CentreEntry]:
        if time.monotonic() - self._loaded_at > self._ttl:
            self.refresh()
        return self._entries

    @property
    def version(self) -> float:
        """Changes whenever the snapshot is reloaded: caches built on it key on this."""
        self.entries()
        return self._loaded_at

    def nearest(self, text: str, limit: int = 3) -> NearestResult:
        """Up to ``limit`` active centres nearest to the place ``text`` names."""
        place = self.gazetteer.resolve(text)
        if place is None:
            return NearestResult(None, [])
        return NearestResult(place, self.nearest_to(place, limit))

    def nearest_to(self, place: Place, limit: int = 3) -> list[Nearby]:
        entries = self.entries()
        cache_key = (f"{place.name}|{place.latitude}|{place.longitude}", limit)
        cached = self._by_place.get(cache_key)
        if cached is None:
            cached = self._by_place[cache_key] = self._nearest(place, entries, limit)
        return cached

    def _nearest(self, place: Place, entries: list[CentreEntry], limit: int) -> list[Nearby]:
        # Rank by the dot product of unit vectors (larger = nearer), then compute great-circle
        # distances only for the few kept: same order as haversine, a fraction of the work.
        x, y, z = _unit(place.latitude, place.longitude)
        ranked = sorted(self._points, key=lambda p: -(x * p[1] + y * p[2] + z * p[3]))[:limit]
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
