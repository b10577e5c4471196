"""Centres directory: CSV import/export and the nearest-centre search.

Contract:
- :func:`import_centres` upserts rows keyed by the centre's normalised name in ONE transaction
  (a crash leaves nothing half-written), fills missing coordinates from the gazetteer (flagged
  ``coord_source="gazetteer"``), imports rows whose notes say closed/under construction as
  inactive, and returns an :class:`ImportReport` naming each rejected row by line number.
- :class:`Directory` answers "nearest active centres to what the citizen typed" with the
  matched place and great-circle distances; centres without coordinates are still found
  through their town, municipality or province.
"""

from __future__ import annotations

import csv
import io
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from gateway.catalogue import PROVINCES
from gateway.gazetteer import Gazetteer, Place
from gateway.models import Centre, Municipality, Province, Service
from menus.text import fold

COLUMNS = ["name", "province", "municipality", "town", "address", "phone", "latitude",
           "longitude", "source", "coord_source", "notes"]
# Services named in a row's notes (the source says the tenant is there). Applied only to a
# centre with no services yet, so what staff record later is never overwritten.
_NOTED_SERVICES = [
    (re.compile(r"home affairs", re.I), ("documents",)),
    (re.compile(r"\bsassa\b", re.I), ("grants",)),
    (re.compile(r"housing office", re.I), ("housing",)),
    (re.compile(r"cape access|e-?centre|telecentre|it training", re.I), ("office", "training")),
]
_INACTIVE = re.compile(r"\b(closed|under construction)\b", re.IGNORECASE)
# South Africa's bounding box, generously: a coordinate outside it is a typo, not a centre.
_LAT, _LON = (-35.5, -22.0), (16.0, 33.5)


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line, name, reason)
    warnings: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated + self.unchanged


def centre_key(name: str) -> str:
    return fold(name)


def province_lookup() -> dict[str, str]:
    """Folded province name, code or old name → province name."""
    table = {}
    for code, name, others in PROVINCES:
        for label in (code, name, *others):
            table[fold(label)] = name
    return table


def _town_candidates(town: str) -> list[str]:
    """'Roodepan, Kimberley' → ['Roodepan, Kimberley', 'Roodepan', 'Kimberley']."""
    bare = re.sub(r"\(.*?\)", "", town).strip()
    parts = [p.strip() for p in re.split(r"[,/;]", bare) if p.strip()]
    return [town, bare, *parts]


def _parse_row(row: dict, provinces: dict[str, str], gaz: Gazetteer) -> tuple[dict, list[str]]:
    """Validate one CSV row; return clean values and warnings, or raise ValueError(reason)."""
    clean = {k: (row.get(k) or "").strip() for k in COLUMNS}
    warnings = []
    if not clean["name"]:
        raise ValueError("missing name")
    province = None
    if clean["province"]:
        province = provinces.get(fold(clean["province"]))
        if province is None:
            raise ValueError(f"unknown province {clean['province']!r}")
    lat = lon = None
    if clean["latitude"] or clean["longitude"]:
        try:
            lat, lon = float(clean["latitude"]), float(clean["longitude"])
        except ValueError:
            raise ValueError(f"latitude/longitude not numbers: {clean['latitude']!r}, {clean['longitude']!r}") from None
        if not (_LAT[0] <= lat <= _LAT[1]):
            raise ValueError(f"latitude {lat} outside South Africa")
        if not (_LON[0] <= lon <= _LON[1]):
            raise ValueError(f"longitude {lon} outside South Africa")
    coord_source = clean["coord_source"] or ("building" if lat is not None else None)
    if lat is None and clean["town"]:
        place = next(filter(None, (gaz.exact(t) for t in _town_candidates(clean["town"]))), None)
        if place is not None:
            lat, lon, coord_source = place.latitude, place.longitude, "gazetteer"
            if province is None and place.province:
                province = dict((c, n) for c, n, _o in PROVINCES)[place.province]
        else:
            warnings.append(f"town {clean['town']!r} not in the gazetteer: findable by municipality/province only")
    if lat is None and not province:
        warnings.append("no coordinates and no province: findable by name only")
    return {
        "key": centre_key(clean["name"]),
        "name": clean["name"],
        "province": province,
        "municipality": clean["municipality"] or None,
        "town": clean["town"].replace("\n", " ") or None,
        "address": clean["address"] or None,
        "phone": clean["phone"] or None,
        "latitude": lat,
        "longitude": lon,
        "coord_source": coord_source if lat is not None else None,
        "source": clean["source"] or None,
        "notes": clean["notes"] or None,
        "active": not _INACTIVE.search(clean["notes"]),
    }, warnings


def import_centres(
    sessions: sessionmaker[Session],
    text: str,
    gazetteer: Gazetteer,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert the centres in CSV ``text``; all or nothing. ``progress(n)`` after each row."""
    report = ImportReport()
    provinces = province_lookup()
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("name", "province", "town") if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"CSV lacks required columns: {', '.join(missing)}")
    seen: set[str] = set()
    with sessions.begin() as session:
        prov_ids = {p.name: p for p in session.scalars(select(Province))}
        existing = {c.key: c for c in session.scalars(select(Centre))}
        munis = {(m.province_id, m.name): m for m in session.scalars(select(Municipality))}
        services = {s.code: s for s in session.scalars(select(Service))}
        line = 1
        for row in reader:
            start, line = line + 1, reader.line_num
            try:
                values, warns = _parse_row(row, provinces, gazetteer)
                if values["key"] in seen:
                    raise ValueError("duplicate of an earlier row in this file")
            except ValueError as exc:
                report.rejected.append((start, (row.get("name") or "").strip(), str(exc)))
                continue
            finally:
                if progress:
                    progress(1)
            seen.add(values["key"])
            report.warnings.extend((start, values["name"], w) for w in warns)
            province = prov_ids.get(values.pop("province") or "")
            muni_name = values.pop("municipality")
            values["province_id"] = province.id if province else None
            values["municipality_id"] = None
            if muni_name and province:
                muni = munis.get((province.id, muni_name))
                if muni is None:
                    muni = Municipality(name=muni_name, province_id=province.id)
                    session.add(muni)
                    session.flush()
                    munis[(province.id, muni_name)] = muni
                values["municipality_id"] = muni.id
            centre = existing.get(values["key"])
            noted = [services[c] for c in noted_services(values["notes"] or "") if c in services]
            if centre is None:
                session.add(Centre(**values, services=noted))
                report.inserted += 1
            elif any(getattr(centre, k) != v for k, v in values.items()) or (noted and not centre.services):
                for k, v in values.items():
                    setattr(centre, k, v)
                if not centre.services:
                    centre.services = noted
                report.updated += 1
            else:
                report.unchanged += 1
    return report


def noted_services(notes: str) -> list[str]:
    """Service codes the notes say a centre hosts ("SASSA service day" → grants)."""
    codes: list[str] = []
    for pattern, found in _NOTED_SERVICES:
        if pattern.search(notes):
            codes += [c for c in found if c not in codes]
    return codes


def export_centres(sessions: sessionmaker[Session]) -> str:
    """Every centre as CSV in the import's columns (so export → import is a no-op)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    with sessions() as session:
        centres = session.scalars(
            select(Centre).options(selectinload(Centre.province), selectinload(Centre.municipality)).order_by(Centre.id)
        )
        for c in centres:
            given = c.coord_source in ("building", "town")
            writer.writerow({
                "name": c.name,
                "province": c.province.name if c.province else "",
                "municipality": c.municipality.name if c.municipality else "",
                "town": c.town or "",
                "address": c.address or "",
                "phone": c.phone or "",
                # Gazetteer-filled points are not exported: re-import derives them again.
                "latitude": c.latitude if given else "",
                "longitude": c.longitude if given else "",
                "source": c.source or "",
                "coord_source": c.coord_source if given else "",
                "notes": c.notes or "",
            })
    return out.getvalue()


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

