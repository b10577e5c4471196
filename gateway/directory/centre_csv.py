"""Centres as CSV: import and export in the columns of the shipped seed file plus hours per
weekday, ``active`` and ``services``.

Contract: :func:`import_centres` upserts rows keyed by the centre's normalised name. Good rows
are written, bad rows are skipped and named in the :class:`ImportReport` by line number and
why (the CLI then exits 1); the good rows go in ONE transaction, so a crash leaves nothing
half-written, and ``dry_run=True`` runs the very same checks and reports without writing.
Missing coordinates are filled from the gazetteer (flagged ``coord_source="gazetteer"``).

Columns beyond the seed's are optional, so older files still import: ``hours_mon`` …
``hours_sun`` (:mod:`gateway.directory.hours`' grammar, empty = not recorded), ``active``
(``yes``/``no``) and ``services`` (Six-Block service codes separated by ``;``). A column the
file lacks leaves that field as it is on an existing centre; a new centre then takes its
activity from the notes (closed / under construction → inactive) and its services from what
the notes name. A column that is present is the truth, empty cells included.
:func:`export_centres` writes every column, so export → import changes nothing and a second
export is byte-identical.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from gateway.directory.catalogue import PROVINCES
from gateway.directory.gazetteer import Gazetteer
from gateway.directory.hours import DAYS, HoursError, parse_day
from gateway.store.models import Centre, Municipality, Province, Service
from menus.text import fold

SEED = Path(__file__).with_name("data") / "thusong_centres.csv"  # the shipped starter centres
SEED_COLUMNS = ["name", "province", "municipality", "town", "address", "phone", "latitude",
                "longitude", "source", "coord_source", "notes"]
HOURS_COLUMNS = [f"hours_{day}" for day in DAYS]
COLUMNS = [*SEED_COLUMNS, *HOURS_COLUMNS, "active", "services"]
_YES, _NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}
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
    # (line, name, "inserted" | "updated", the fields an update changes)
    changes: list[tuple[int, str, str, list[str]]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated + self.unchanged


def check_point(lat: float, lon: float) -> None:
    """Raise ValueError unless the point is in South Africa's (generous) bounding box."""
    if not (_LAT[0] <= lat <= _LAT[1]):
        raise ValueError(f"latitude {lat} outside South Africa")
    if not (_LON[0] <= lon <= _LON[1]):
        raise ValueError(f"longitude {lon} outside South Africa")


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


def _parse_row(row: dict, provinces: dict[str, str], gaz: Gazetteer, present: set[str],
               service_codes: set[str]) -> tuple[dict, list[str]]:
    """Validate one CSV row; return clean values and warnings, or raise ValueError(reason).
    Keys for optional columns appear only when the file has the column (``present``)."""
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
        check_point(lat, lon)
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
    values = {
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
    }
    values.update(_optional_columns(clean, present, service_codes))
    return values, warnings


def _optional_columns(clean: dict, present: set[str], service_codes: set[str]) -> dict:
    """Hours, active and services from the columns the file has (see the module docstring)."""
    values: dict = {}
    for column in HOURS_COLUMNS:
        if column in present:
            try:
                values[column] = parse_day(clean[column])
            except HoursError as exc:
                raise ValueError(f"{column}: {exc}") from None
    active = clean["active"].lower()
    if "active" in present and active:
        if active not in _YES | _NO:
            raise ValueError(f"active must be yes or no, not {clean['active']!r}")
        values["active"] = active in _YES
    if "services" in present:
        codes = [c.strip().lower() for c in clean["services"].split(";") if c.strip()]
        unknown = [c for c in codes if c not in service_codes]
        if unknown:
            raise ValueError(f"unknown service code {', '.join(map(repr, unknown))}")
        values["services"] = list(dict.fromkeys(codes))
    return values


def import_centres(
    sessions: sessionmaker[Session],
    text: str,
    gazetteer: Gazetteer,
    progress: Callable[[int], None] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Upsert the good rows of CSV ``text`` in one transaction and report the bad ones by line
    (they are skipped, not fatal); ``dry_run`` reports the same without writing.
    ``progress(n)`` after each row. Raises ValueError when a required column is missing."""
    report = ImportReport()
    provinces = province_lookup()
    reader = csv.DictReader(io.StringIO(text))
    present = set(reader.fieldnames or [])
    missing = [c for c in ("name", "province", "town") if c not in present]
    if missing:
        raise ValueError(f"CSV lacks required columns: {', '.join(missing)}")
    seen: set[str] = set()
    with sessions() as session:
        prov_ids = {p.name: p for p in session.scalars(select(Province))}
        existing = {c.key: c for c in session.scalars(select(Centre).options(selectinload(Centre.services)))}
        munis = {(m.province_id, m.name): m for m in session.scalars(select(Municipality))}
        services = {s.code: s for s in session.scalars(select(Service))}
        line = 1
        for row in reader:
            start, line = line + 1, reader.line_num
            try:
                values, warns = _parse_row(row, provinces, gazetteer, present, set(services))
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
            values["province_id"], values["municipality_id"] = _place_ids(
                session, prov_ids, munis, values.pop("province"), values.pop("municipality"))
            outcome, fields = _upsert(session, existing.get(values["key"]), values, services)
            setattr(report, outcome, getattr(report, outcome) + 1)
            if outcome != "unchanged":
                report.changes.append((start, values["name"], outcome, fields))
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return report


def _place_ids(session: Session, prov_ids: dict, munis: dict, province_name: str | None,
               muni_name: str | None) -> tuple[int | None, int | None]:
    province = prov_ids.get(province_name or "")
    if not (muni_name and province):
        return (province.id if province else None), None
    muni = munis.get((province.id, muni_name))
    if muni is None:
        # The new row's id from one INSERT on the session's connection, not session.flush(): a
        # flush also wrote every centre added since the last one, a statement and a round trip
        # per row (a 2 MB file of new municipalities: 26 s on PostgreSQL, for a preview that
        # then rolls it all back); the centres now go in batches when the transaction ends.
        new_id = session.connection().scalar(insert(Municipality.__table__).values(
            name=muni_name, province_id=province.id).returning(Municipality.__table__.c.id))
        muni = munis[(province.id, muni_name)] = Municipality(id=new_id, name=muni_name, province_id=province.id)
    return province.id, muni.id


def _upsert(session: Session, centre: Centre | None, values: dict, services: dict) -> tuple[str, list[str]]:
    """Insert or update one centre; ("inserted" | "updated" | "unchanged", fields changed)."""
    codes = values.pop("services", None)  # None: the file has no services column
    noted = [services[c] for c in noted_services(values["notes"] or "") if c in services]
    if centre is None:
        values.setdefault("active", not _INACTIVE.search(values["notes"] or ""))
        chosen = [services[c] for c in codes] if codes is not None else noted
        session.add(Centre(**values, services=chosen))
        return "inserted", []
    fields = [k for k, v in values.items() if getattr(centre, k) != v]
    for k in fields:
        setattr(centre, k, values[k])
    wanted = [services[c] for c in codes] if codes is not None else (noted if not centre.services else None)
    if wanted is not None and {s.id for s in wanted} != {s.id for s in centre.services}:
        centre.services = wanted
        fields.append("services")
    return ("updated" if fields else "unchanged"), fields


def noted_services(notes: str) -> list[str]:
    """Service codes the notes say a centre hosts ("SASSA service day" → grants)."""
    codes: list[str] = []
    for pattern, found in _NOTED_SERVICES:
        if pattern.search(notes):
            codes += [c for c in found if c not in codes]
    return codes


def export_centres(sessions: sessionmaker[Session]) -> str:
    """Every centre as CSV in all the import's columns (export → import is a no-op)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    with sessions() as session:
        centres = session.scalars(
            select(Centre).options(selectinload(Centre.province), selectinload(Centre.municipality),
                                   selectinload(Centre.services)).order_by(Centre.id)
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
                **{column: getattr(c, column) or "" for column in HOURS_COLUMNS},
                "active": "yes" if c.active else "no",
                "services": ";".join(s.code for s in sorted(c.services, key=lambda s: s.id)),
            })
    return out.getvalue()
