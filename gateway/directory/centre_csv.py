"""Centres as CSV: import and export in the columns of the shipped seed file.

Contract: :func:`import_centres` upserts rows keyed by the centre's normalised name in ONE
transaction (a crash leaves nothing half-written), fills missing coordinates from the
gazetteer (flagged ``coord_source="gazetteer"``), imports rows whose notes say closed/under
construction as inactive, records services the notes name on centres that have none yet, and
returns an :class:`ImportReport` naming each rejected row by line number and why.
:func:`export_centres` writes the directory back in the same columns (export then import
changes nothing).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from gateway.directory.catalogue import PROVINCES
from gateway.directory.gazetteer import Gazetteer
from gateway.store.models import Centre, Municipality, Province, Service
from menus.text import fold

SEED = Path(__file__).with_name("data") / "thusong_centres.csv"  # the shipped starter centres
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
