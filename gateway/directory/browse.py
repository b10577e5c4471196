"""Browse reads for the USSD menus, answered from memory.

Contract: :class:`Browse` answers the provinces and municipalities that have active centres,
the active centres of an area, one centre's details (services grouped by the Six-Block
model) and the service catalogue, from a snapshot taken alongside the directory's
(:attr:`gateway.directory.Directory.version`). A hop therefore runs no SQL for reference data,
and staff edits still show within the directory's refresh interval. A centre that is not in
the snapshot (inactive, or added since) is read from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from gateway.clock import SAST
from gateway.directory.hours import compact, week_of
from gateway.directory.visits import still_coming, upcoming_by_centre
from gateway.store.models import Centre, Service
from menus.ports import CentreDetails, CentreSummary, Named


@dataclass(frozen=True)
class _Snapshot:
    version: float
    provinces: list[Named] = field(default_factory=list)
    municipalities: dict[int, list[Named]] = field(default_factory=dict)
    centres: dict[tuple[int, int | None], list[CentreSummary]] = field(default_factory=dict)
    details: dict[int, CentreDetails] = field(default_factory=dict)
    services: list[Named] = field(default_factory=list)


def centre_details(c: Centre, coming_up=()) -> CentreDetails:
    """A centre row (services, blocks, province and municipality loaded) as plain data; hours
    as the compact week (the old free text while no day is recorded); ``coming_up``: its
    approved visits still to come."""
    blocks: dict[int, tuple[str, list[str]]] = {}
    for svc in sorted(c.services, key=lambda x: (x.block.number, x.id)):
        blocks.setdefault(svc.block.number, (svc.block.name, []))[1].append(svc.name)
    return CentreDetails(
        id=c.id, name=c.name, address=c.address, hours=compact(week_of(c)) or c.hours, phone=c.phone, town=c.town,
        municipality=c.municipality.name if c.municipality else None,
        province=c.province.name if c.province else None,
        services_by_block=[blocks[k] for k in sorted(blocks)], coming_up=tuple(coming_up),
    )


def _with_everything():
    return (selectinload(Centre.services).selectinload(Service.block),
            selectinload(Centre.province), selectinload(Centre.municipality))


class Browse:
    """Reference data for browsing, cached per directory snapshot (see module docstring)."""

    def __init__(self, sessions: sessionmaker[Session], directory):
        self._sessions, self._directory = sessions, directory
        self._snap = _Snapshot(version=float("nan"))

    def _current(self) -> _Snapshot:
        version = self._directory.version
        snap = self._snap
        if snap.version != version:
            snap = self._load(version)
            # A web worker's threads may load at once: one that read the database before a
            # change must not put its snapshot back over a newer one (versions only grow).
            if not self._snap.version > version:
                self._snap = snap  # one assignment: readers never see half a snapshot
        return snap

    def _load(self, version: float) -> _Snapshot:
        snap = _Snapshot(version)
        with self._sessions() as s:
            rows = s.scalars(select(Centre).where(Centre.active.is_(True)).options(*_with_everything())).all()
            visits = upcoming_by_centre(s, _yesterday())  # readers drop what is over by their clock
            snap.services.extend(Named(r.id, r.name, r.code)
                                 for r in s.execute(select(Service.id, Service.name, Service.code)
                                                    .order_by(Service.id)))
            provinces: dict[int, str] = {}
            municipalities: dict[int, dict[int, str]] = {}
            for c in sorted(rows, key=lambda c: c.name):
                snap.details[c.id] = centre_details(c, visits.get(c.id, ()))
                if c.province_id is None:
                    continue
                provinces[c.province_id] = c.province.name
                summary = CentreSummary(c.id, c.name, c.town, None, None)
                snap.centres.setdefault((c.province_id, None), []).append(summary)
                if c.municipality_id is not None:
                    municipalities.setdefault(c.province_id, {})[c.municipality_id] = c.municipality.name
                    snap.centres.setdefault((c.province_id, c.municipality_id), []).append(summary)
        snap.provinces.extend(Named(i, n) for i, n in sorted(provinces.items(), key=lambda p: p[1]))
        for pid, found in municipalities.items():
            snap.municipalities[pid] = [Named(i, n) for i, n in sorted(found.items(), key=lambda m: m[1])]
        return snap

    def provinces(self) -> list[Named]:
        """Provinces that have at least one active centre, alphabetical."""
        return self._current().provinces

    def municipalities(self, province_id: int) -> list[Named]:
        return self._current().municipalities.get(province_id, [])

    def centres_in(self, province_id: int, municipality_id: int | None) -> list[CentreSummary]:
        """Active centres of a municipality, or of the whole province when it is None."""
        return self._current().centres.get((province_id, municipality_id), [])

    def services(self) -> list[Named]:
        return self._current().services

    def centre(self, centre_id: int) -> CentreDetails | None:
        found = self._current().details.get(centre_id)
        if found is not None:
            return found
        with self._sessions() as s:
            c = s.scalar(select(Centre).where(Centre.id == centre_id).options(*_with_everything()))
            if c is None:
                return None
            return centre_details(c, upcoming_by_centre(s, _yesterday(), [centre_id]).get(centre_id, ()))


def _yesterday():
    """The snapshot's lower bound for visits: a day of slack for clocks and time zones."""
    return (datetime.now(SAST) - timedelta(days=1)).date()


def with_visits_at(details: CentreDetails | None, now_local: datetime) -> CentreDetails | None:
    """``details`` keeping only the visits not over at ``now_local``."""
    if details is None or not details.coming_up:
        return details
    return replace(details, coming_up=still_coming(details.coming_up, now_local))
