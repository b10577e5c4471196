"""Offices: the departments that may sit at a centre, beside the Six-Block services (which say
*what* is offered; offices say *who* is there), and which offices each centre has.

:data:`OFFICES` is the reference data migration 0019 writes (code, English name, the Six-Block
service codes the office provides); names in other languages are the menu catalogues'
``office.<CODE>`` strings. A centre's offices are set by the centres CSV's ``offices`` column
(``gateway.directory.centre_csv``) and read here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gateway.runtime import Runtime
from gateway.store.models import Centre, Office

# (code, English name, Six-Block service codes it provides) — DESIGN.md §6; extendable by a migration.
OFFICES: list[tuple[str, str, tuple[str, ...]]] = [
    ("HA", "Home Affairs", ("documents",)),
    ("SASSA", "SASSA", ("grants",)),
    ("UIF", "Labour (UIF)", ("guidance", "training")),
    ("SARS", "SARS", ("guidance", "business_advice")),
    ("POST", "Post Office", ("postal",)),
    ("GCIS", "GCIS", ("community_info", "guidance")),
    ("HEALTH", "Health", ("community_info",)),
    ("DSD", "Social Development", ("grants", "guidance")),
    ("JUSTICE", "Justice", ("documents", "guidance")),
    ("MUNI", "Municipality", ("housing", "community_info")),
]
CODES = tuple(code for code, _name, _services in OFFICES)


class OfficeError(ValueError):
    """An office request was refused: an unknown code, a centre that does not exist or lacks
    the office. The message is fit to show the person who asked."""


@dataclass(frozen=True)
class OfficeInfo:
    """One office as the rest of the code sees it."""

    id: int
    code: str
    name: str  # English: the catalogues' office.<code> in the citizen's language
    services: tuple[str, ...]


def _info(row: Office) -> OfficeInfo:
    return OfficeInfo(row.id, row.code, row.name, tuple(s.code for s in row.services))


def office_code(text: str) -> str:
    """``text`` as a known office code (any case, spaces trimmed), or OfficeError listing them."""
    code = (text or "").strip().upper()
    if code not in CODES:
        raise OfficeError(f"unknown office {text!r}: use one of {', '.join(CODES)}")
    return code


def all_offices(rt: Runtime) -> list[OfficeInfo]:
    """Every office, in reference order."""
    with rt.sessions() as session:
        rows = session.scalars(select(Office).options(selectinload(Office.services)).order_by(Office.id))
        return [_info(r) for r in rows]


def centre_offices(rt: Runtime, centre_id: int) -> list[OfficeInfo]:
    """The offices centre ``centre_id`` has; OfficeError when there is no such centre."""
    with rt.sessions() as session:
        centre = session.scalar(select(Centre).where(Centre.id == centre_id).options(
            selectinload(Centre.offices).selectinload(Office.services)))
        if centre is None:
            raise OfficeError(f"no centre {centre_id}")
        return [_info(o) for o in centre.offices]
