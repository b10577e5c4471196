"""Directory management for staff: list and search centres, edit one, import and export the CSV.

Contract: every function takes the acting account and applies
:func:`~gateway.staff.accounts.allowed_centre_ids`. A clerk lists and edits only their own
centres; any other id raises :class:`CentreNotFound`, the same answer as an id that does not
exist, so ids cannot be probed. CSV import and export are for admins (and the ``thusong``
CLI): anyone else gets :class:`NotAllowed`. An edit is committed together with its
``centre.edited`` audit row (naming each field changed, old and new); imports write
``csv.imported`` and exports ``csv.exported``. After every committed change
:meth:`~gateway.directory.nearest.Directory.changed` tells every process to reload its
snapshot, so USSD and SMS answers show the change within about a second. Under the
two-person rule a clerk's new name, address or phone is not applied but held for an approver
(:mod:`gateway.staff.centre_changes`), which publishes it the same way once approved.

An uploaded CSV waits between its preview and the confirmation in Redis
(:func:`hold_upload` / :func:`take_upload`), under a random token, for the account that
uploaded it only, for :data:`UPLOAD_TTL` seconds; the confirmation imports it afresh, checks
and all.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gateway.directory.centre_csv import ImportReport, export_centres, import_centres
from gateway.directory.centre_row import centre_key, check_point
from gateway.directory.hours import DAYS, HoursError, compact, parse_day, week_of
from gateway.runtime import Runtime
from gateway.staff import audit, centre_changes
from gateway.staff.accounts import Member, StaffError, allowed_centre_ids
from gateway.store.models import Centre, Service, ServiceBlock
from menus.text import fold

UPLOAD_TTL = 15 * 60
_UPLOAD_KEY = "thusong:csv-upload:"
EDITABLE = ("name", "address", "phone", *(f"hours_{d}" for d in DAYS), "latitude", "longitude", "active",
            "services")


class CentreError(StaffError):
    """An edit was refused; ``field`` names the form field at fault (None: the whole form)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class CentreNotFound(CentreError):
    """No such centre, or not one of the account's centres."""


class NotAllowed(StaffError):
    """The account's role may not do this (CSV import and export are for admins)."""


@dataclass(frozen=True)
class CentreRecord:
    """One centre as the staff pages show and edit it."""

    id: int
    name: str
    town: str | None
    province: str | None
    address: str | None
    phone: str | None
    hours: tuple[str | None, ...]  # Monday first, canonical (gateway.directory.hours)
    hours_line: str | None  # the compact line citizens see (the old free text if no day is set)
    latitude: float | None
    longitude: float | None
    active: bool
    services: frozenset[str]  # service codes
    offices: tuple[str, ...] = ()  # office codes, in reference order


def _record(c: Centre) -> CentreRecord:
    return CentreRecord(c.id, c.name, c.town, c.province.name if c.province else None, c.address, c.phone,
                        week_of(c), compact(week_of(c)) or c.hours, c.latitude, c.longitude, bool(c.active),
                        frozenset(s.code for s in c.services), tuple(o.code for o in c.offices))


def visible_centres(member: Member | str):
    """The query of the centres ``member`` may see and edit (every centre for the CLI)."""
    query = select(Centre).options(selectinload(Centre.province), selectinload(Centre.services),
                                   selectinload(Centre.offices))
    allowed = None if member == audit.CLI else allowed_centre_ids(member)  # the CLI: every centre
    return query if allowed is None else query.where(Centre.id.in_(sorted(allowed)))


def search_centres(rt: Runtime, member: Member | str, text: str = "") -> list[CentreRecord]:
    """The member's centres (every centre for the CLI actor, :data:`audit.CLI`) whose name,
    town or province contains ``text`` (accents and case ignored), by name."""
    needle = fold(text.strip())
    with rt.sessions() as session:
        rows = session.scalars(visible_centres(member)).all()
        found = [_record(c) for c in rows
                 if not needle or any(needle in fold(v or "") for v in (c.name, c.town, c.province and c.province.name))]
    return sorted(found, key=lambda r: fold(r.name))


def get_centre(rt: Runtime, member: Member, centre_id: int) -> CentreRecord:
    with rt.sessions() as session:
        row = session.scalar(visible_centres(member).where(Centre.id == centre_id))
        if row is None:
            raise CentreNotFound(f"no centre {centre_id} among yours")
        return _record(row)


def service_blocks(rt: Runtime) -> list[tuple[str, list[tuple[str, str]]]]:
    """The Six-Block model: [(block name, [(service code, service name), ...]), ...]."""
    with rt.sessions() as session:
        blocks = session.scalars(select(ServiceBlock).options(selectinload(ServiceBlock.services))
                                 .order_by(ServiceBlock.number)).all()
        return [(b.name, [(s.code, s.name) for s in b.services]) for b in blocks]


def _clean(values: dict, known_codes: set[str]) -> dict:
    """The submitted fields checked and normalised (raises CentreError naming the field)."""
    clean: dict = {}
    name = (values.get("name") or "").strip()
    if not name or len(name) > 200:
        raise CentreError("a name of 1 to 200 characters is needed", "name")
    clean["name"] = name
    clean["address"] = (values.get("address") or "").strip() or None
    clean["phone"] = (values.get("phone") or "").strip() or None
    if clean["phone"] and len(clean["phone"]) > 32:
        raise CentreError("at most 32 characters", "phone")
    for day in DAYS:
        try:
            clean[f"hours_{day}"] = parse_day(values.get(f"hours_{day}"))
        except HoursError as exc:
            raise CentreError(str(exc), f"hours_{day}") from None
    lat, lon = values.get("latitude"), values.get("longitude")
    if (lat is None) != (lon is None):
        raise CentreError("give both latitude and longitude, or neither", "latitude")
    if lat is not None:
        try:
            check_point(lat, lon)
        except ValueError as exc:
            raise CentreError(str(exc), "latitude") from None
    clean["latitude"], clean["longitude"] = lat, lon
    clean["active"] = bool(values.get("active"))
    codes = set(values.get("services") or ())
    if codes - known_codes:
        raise CentreError(f"unknown service {', '.join(sorted(codes - known_codes))}", "services")
    clean["services"] = codes
    return clean


@dataclass(frozen=True)
class Edit:
    """What an edit did: ``applied`` {field: [old, new]} at once (audited ``centre.edited``);
    ``waiting`` {field: [what citizens read, wanted]} held for an approver
    (:mod:`~gateway.staff.centre_changes`); ``withdrawn``: a change that waited no longer does."""

    applied: dict
    waiting: dict
    withdrawn: bool = False


def edit_centre(rt: Runtime, member: Member, centre_id: int, values: dict, address: str | None = None) -> Edit:
    """Apply the form ``values`` (keys :data:`EDITABLE`; coordinates as floats or None,
    services as codes) to one of the member's centres. Under the two-person rule
    (:func:`~gateway.staff.centre_changes.needs_approval`) the name, address and phone wait for
    an approver instead; the rest applies at once. Nothing changed: an empty :class:`Edit`."""
    held = centre_changes.needs_approval(rt, member)
    with rt.sessions.begin() as session:
        # Read for update: an approval of this centre's change waits for this edit, or the other way round.
        centre = session.scalar(visible_centres(member).where(Centre.id == centre_id).with_for_update())
        if centre is None:
            raise CentreNotFound(f"no centre {centre_id} among yours")
        services = {s.code: s for s in session.scalars(select(Service))}
        clean = _clean(values, set(services))
        if centre_key(clean["name"]) != centre.key and session.scalar(
                select(Centre.id).where(Centre.key == centre_key(clean["name"]))):
            raise CentreError("another centre already has that name", "name")
        wanted = {field: clean.pop(field) for field in centre_changes.TEXT_FIELDS} if held else None
        changed = _apply(centre, clean, services)
        if changed:
            audit.record(session, member, "centre.edited", target=f"centre {centre.id} {centre.name}",
                         address=address, detail=changed)
        waiting, withdrawn = centre_changes.hold(session, member, centre, wanted, address) if held else ({}, False)
    if changed:
        rt.directory.changed()
    return Edit(changed, waiting, withdrawn)


def _apply(centre: Centre, clean: dict, services: dict) -> dict:
    """Set the ``clean`` values that differ on ``centre``; {field: [old, new]} of those."""
    changed: dict = {}
    for field, new in clean.items():
        old = {s.code for s in centre.services} if field == "services" else getattr(centre, field)
        if old != new:
            changed[field] = [sorted(old), sorted(new)] if field == "services" else [old, new]
    for field, (_old, new) in changed.items():
        if field == "services":
            centre.services = [services[c] for c in new]
        else:
            setattr(centre, field, new)
    if "name" in changed:
        centre.key = centre_key(clean["name"])
    if "latitude" in changed or "longitude" in changed:
        centre.coord_source = "building" if clean["latitude"] is not None else None
    return changed


def _admin_only(actor: Member | str) -> None:
    if isinstance(actor, Member) and not actor.is_admin:
        raise NotAllowed("CSV import and export are for administrators")


def import_csv(rt: Runtime, actor: Member | str, text: str, dry_run: bool = False,
               address: str | None = None, source: str | None = None, progress=None) -> ImportReport:
    """Import (or with ``dry_run`` preview) a centres CSV as ``actor`` (an admin, or the CLI);
    a real import writes a ``csv.imported`` row and reloads every process's directory."""
    _admin_only(actor)
    report = import_centres(rt.sessions, text, rt.gazetteer, progress, dry_run=dry_run)
    if dry_run:
        return report
    audit.record(rt, actor, "csv.imported", target=source, address=address, detail={
        "inserted": report.inserted, "updated": report.updated, "unchanged": report.unchanged,
        "rejected_lines": report.rejected_lines})
    if report.inserted or report.updated:
        rt.directory.changed()
    return report


def export_csv(rt: Runtime, actor: Member | str, address: str | None = None) -> str:
    """Every centre as CSV; writes a ``csv.exported`` row."""
    _admin_only(actor)
    text = export_centres(rt.sessions)
    audit.record(rt, actor, "csv.exported", address=address, detail={"centres": text.count("\n") - 1})
    return text


def hold_upload(rt: Runtime, member: Member, text: str) -> str:
    """Keep an uploaded CSV for its confirmation; returns the token that names it."""
    _admin_only(member)
    token = secrets.token_urlsafe(24)
    rt.redis.set(_UPLOAD_KEY + token, json.dumps({"staff": member.id, "text": text}), ex=UPLOAD_TTL)
    return token


def take_upload(rt: Runtime, member: Member, token: str) -> str | None:
    """The CSV held under ``token`` for ``member`` (then forgotten), or None if there is none:
    expired, already imported, or uploaded by someone else."""
    _admin_only(member)
    raw = rt.redis.getdel(_UPLOAD_KEY + token) if token else None
    held = json.loads(raw) if raw else None
    if not held or held.get("staff") != member.id:
        return None
    return held["text"]
