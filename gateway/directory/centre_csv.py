"""Centres as CSV: import and export in the columns of the shipped seed file plus hours per
weekday, ``active`` and ``services``.

Contract: :func:`import_centres` upserts rows keyed by the centre's normalised name. Good rows
are written, bad rows are skipped and named in the :class:`ImportReport` by line number with
every reason found in the row, not only the first (the CLI then exits 1): a record the CSV reader cannot use
(:func:`~gateway.directory.spreadsheet.read_records`) or a row the checks of
:func:`~gateway.directory.centre_row.parse_row` refuse, which include everything the database
would refuse. The good rows go in ONE transaction, so a crash leaves nothing half-written, and
``dry_run=True`` runs the very same checks and reports without writing. The file may be
separated by ``,`` or ``;`` (Excel's default in South Africa, where coordinates may also be
written with a decimal comma).
Missing coordinates are filled from the gazetteer (flagged ``coord_source="gazetteer"``).

Columns beyond the seed's are optional, so older files still import: ``hours_mon`` …
``hours_sun`` (:mod:`gateway.directory.hours`' grammar, empty = not recorded), ``active``
(``yes``/``no``), ``services`` (Six-Block service codes separated by ``;``) and ``offices``
(office codes such as ``HA;SASSA``, the reference data of ``gateway.dialogue.offices``). A column the
file lacks leaves that field as it is on an existing centre; a new centre then takes its
activity from the notes (closed / under construction → inactive) and its services from what
the notes name, and no offices. A column that is present is the truth, empty cells included.
:func:`export_centres` writes every column, so export → import changes nothing and a second
export is byte-identical; its cells are safe to open in a spreadsheet (a formula-like name is
written with a leading quote, which the import takes off again).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from gateway.directory.centre_row import (
    COLUMNS,
    HOURS_COLUMNS,
    centre_key,
    parse_row,
    province_lookup,
)
from gateway.directory.gazetteer import Gazetteer
from gateway.directory.spreadsheet import Record, csv_text, read_records
from gateway.store.models import Centre, Municipality, Office, Province, Service

SEED = Path(__file__).with_name("data") / "thusong_centres.csv"  # the shipped starter centres
# Services named in a row's notes (the source says the tenant is there). Applied only to a
# centre with no services yet, so what staff record later is never overwritten.
_NOTED_SERVICES = [
    (re.compile(r"home affairs", re.I), ("documents",)),
    (re.compile(r"\bsassa\b", re.I), ("grants",)),
    (re.compile(r"housing office", re.I), ("housing",)),
    (re.compile(r"cape access|e-?centre|telecentre|it training", re.I), ("office", "training")),
]
_INACTIVE = re.compile(r"\b(closed|under construction)\b", re.IGNORECASE)


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # (line, name, reason): one entry per problem, so a row with three problems has three
    # entries under its line (every reason at once, not one per attempt).
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    warnings: list[tuple[int, str, str]] = field(default_factory=list)
    # (line, name, "inserted" | "updated", the fields an update changes)
    changes: list[tuple[int, str, str, list[str]]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated + self.unchanged

    @property
    def rejected_lines(self) -> list[int]:
        """The lines of the rejected rows, each once, in file order."""
        return list(dict.fromkeys(line for line, _name, _why in self.rejected))

    @property
    def rejected_rows(self) -> int:
        return len(self.rejected_lines)


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
    header, records = read_records(text, COLUMNS)
    present = set(header)
    missing = [c for c in ("name", "province", "town") if c not in present]
    if missing:
        raise ValueError(f"CSV lacks required columns: {', '.join(missing)}")
    seen: set[str] = set()
    with sessions() as session:
        prov_ids = {p.name: p for p in session.scalars(select(Province))}
        existing = {c.key: c for c in session.scalars(select(Centre).options(
            selectinload(Centre.services), selectinload(Centre.offices)))}
        munis = {(m.province_id, m.name): m for m in session.scalars(select(Municipality))}
        services = {s.code: s for s in session.scalars(select(Service))}
        offices = {o.code: o for o in session.scalars(select(Office))}
        parse = partial(parse_row, provinces=provinces, gaz=gazetteer, present=present,
                        service_codes=set(services), office_codes=set(offices))
        for record in records:
            start = record.line
            values, warns, reasons = _checked(record, seen, parse)
            if progress:
                progress(1)
            if values is None:
                report.rejected.extend((start, _named(record), why) for why in reasons)
                continue
            seen.add(values["key"])
            report.warnings.extend((start, values["name"], w) for w in warns)
            values["province_id"], values["municipality_id"] = _place_ids(
                session, prov_ids, munis, values.pop("province"), values.pop("municipality"))
            outcome, fields = _upsert(session, existing.get(values["key"]), values, services, offices)
            setattr(report, outcome, getattr(report, outcome) + 1)
            if outcome != "unchanged":
                report.changes.append((start, values["name"], outcome, fields))
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return report


def _checked(record: Record, seen: set[str], parse: Callable[[dict], tuple[dict, list[str]]]
             ) -> tuple[dict | None, list[str], list[str]]:
    """(values, warnings, []) for a good row; (None, [], every reason) for a bad one: the
    reader's error, or all that :func:`parse_row` found plus a name already taken above."""
    if record.error:
        return None, [], [record.error]
    try:
        values, warns = parse(record.cells)
        reasons: list[str] = []
    except ValueError as exc:
        values, warns, reasons = None, [], list(getattr(exc, "reasons", [str(exc)]))
    if centre_key((record.cells.get("name") or "").strip()) in seen:
        reasons.append("duplicate of an earlier row in this file")
    return (None, [], reasons) if reasons else (values, warns, [])


def _named(record: Record) -> str:
    """The rejected row's name as the report shows it: printable, at most 60 characters."""
    name = "".join(ch if ch.isprintable() else " " for ch in (record.cells.get("name") or "")[:200]).strip()
    return name if len(name) <= 60 else name[:59] + "…"


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


def _upsert(session: Session, centre: Centre | None, values: dict, services: dict,
            offices: dict) -> tuple[str, list[str]]:
    """Insert or update one centre; ("inserted" | "updated" | "unchanged", fields changed)."""
    codes = values.pop("services", None)  # None: the file has no services column
    office_codes = values.pop("offices", None)  # None: the file has no offices column
    chosen_offices = [offices[c] for c in office_codes] if office_codes is not None else None
    noted = [services[c] for c in noted_services(values["notes"] or "") if c in services]
    if centre is None:
        values.setdefault("active", not _INACTIVE.search(values["notes"] or ""))
        chosen = [services[c] for c in codes] if codes is not None else noted
        session.add(Centre(**values, services=chosen, offices=chosen_offices or []))
        return "inserted", []
    fields = [k for k, v in values.items() if getattr(centre, k) != v]
    for k in fields:
        setattr(centre, k, values[k])
    wanted = [services[c] for c in codes] if codes is not None else (noted if not centre.services else None)
    if wanted is not None and {s.id for s in wanted} != {s.id for s in centre.services}:
        centre.services = wanted
        fields.append("services")
    if chosen_offices is not None and {o.id for o in chosen_offices} != {o.id for o in centre.offices}:
        centre.offices = chosen_offices
        fields.append("offices")
    return ("updated" if fields else "unchanged"), fields


def noted_services(notes: str) -> list[str]:
    """Service codes the notes say a centre hosts ("SASSA service day" → grants)."""
    codes: list[str] = []
    for pattern, found in _NOTED_SERVICES:
        if pattern.search(notes):
            codes += [c for c in found if c not in codes]
    return codes


def export_centres(sessions: sessionmaker[Session]) -> str:
    """Every centre as CSV in all the import's columns (export → import is a no-op), its text
    safe to open in a spreadsheet (:func:`~gateway.directory.spreadsheet.safe_cell`)."""
    rows = []
    with sessions() as session:
        centres = session.scalars(
            select(Centre).options(selectinload(Centre.province), selectinload(Centre.municipality),
                                   selectinload(Centre.services), selectinload(Centre.offices)).order_by(Centre.id)
        )
        for c in centres:
            given = c.coord_source in ("building", "town")
            rows.append({
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
                "offices": ";".join(o.code for o in sorted(c.offices, key=lambda o: o.id)),
            })
    return csv_text(COLUMNS, ([row[k] for k in COLUMNS] for row in rows), lineterminator="\n")
