"""An office's live status at a centre: ``up``, ``slow`` (long queue, limited service) or
``down`` (offline, closed), with an optional reason from a fixed list (no free text: nothing
unapproved reaches citizens, and every language says the reason in its own words — the
catalogues' ``status_reason.<code>``), who set it and when, and when it stops counting.

Contract: :func:`record` adds a row (never updates one: the history is what analytics count,
"days with down"); it refuses an office the centre does not have. :func:`current` reads a
centre's statuses: per office, the latest row, unless it has expired — then that office has
"no news", even if an older row would still be valid (a newer report always wins). The default
expiry is the end of the day the status was set, in SAST. ``now`` is injectable everywhere.
Permission (who may set which centre) and the audit row are ``gateway.staff.office_status``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from gateway.clock import SAST
from gateway.dialogue.offices import OfficeError, office_code
from gateway.runtime import Runtime
from gateway.store.models import Centre, Office, OfficeStatus, as_utc, centre_offices

STATES = ("up", "slow", "down")
# code -> English words (the catalogues' status_reason.<code> in each language)
REASONS = {
    "offline": "system offline",
    "queue": "long queue",
    "closed": "closed today",
    "no_forms": "no forms in stock",
    "training": "staff training",
}


@dataclass(frozen=True)
class Status:
    """One office's status at one centre, as read back."""

    centre_id: int
    office: str  # the office code
    state: str
    reason: str | None  # a REASONS code
    staff_id: int | None  # None: set from the command line (``via`` "cli")
    via: str
    set_at: datetime
    expires_at: datetime


def _status(row: OfficeStatus, code: str) -> Status:
    return Status(row.centre_id, code, row.state, row.reason, row.staff_id, row.via,
                  as_utc(row.set_at), as_utc(row.expires_at))


def end_of_day(now: datetime) -> datetime:
    """Midnight after ``now``'s day in SAST (Africa/Johannesburg), as a UTC-aware time."""
    day = now.astimezone(SAST).date() + timedelta(days=1)
    return datetime.combine(day, time(0), SAST).astimezone(UTC)


def state_of(text: str) -> str:
    """``text`` as a state (any case), or OfficeError listing them."""
    state = (text or "").strip().lower()
    if state not in STATES:
        raise OfficeError(f"unknown state {text!r}: use one of {', '.join(STATES)}")
    return state


def reason_of(text: str | None) -> str | None:
    """``text`` as a reason code (any case; empty = none), or OfficeError listing the codes:
    a reason is chosen, never typed."""
    if text is None or not text.strip():
        return None
    code = text.strip().lower()
    if code not in REASONS:
        listed = ", ".join(f"{c} ({w})" for c, w in REASONS.items())
        raise OfficeError(f"unknown reason {text!r}: use one of {listed}")
    return code


def record(rt: Runtime, centre_id: int, office: str, state: str, reason: str | None = None, *,
           staff_id: int | None, via: str, now: datetime | None = None,
           expires_at: datetime | None = None, session=None) -> Status:
    """Add one status row for ``office`` at centre ``centre_id`` and return it. Raises
    OfficeError for an unknown office, state or reason, a missing centre, an office the centre
    does not have, or an expiry not after ``now``. With ``session`` the row joins that
    transaction (the caller's audit row is written exactly when it is)."""
    code, state, reason = office_code(office), state_of(state), reason_of(reason)
    now = now or rt.clock.now()
    expires_at = expires_at or end_of_day(now)
    if expires_at <= now:
        raise OfficeError("the status would expire before it is set")
    if session is None:
        with rt.sessions.begin() as own:
            return record(rt, centre_id, code, state, reason, staff_id=staff_id, via=via, now=now,
                          expires_at=expires_at, session=own)
    if session.get(Centre, centre_id) is None:
        raise OfficeError(f"no centre {centre_id}")
    office_id = session.scalar(
        select(Office.id).join(centre_offices, centre_offices.c.office_id == Office.id)
        .where(centre_offices.c.centre_id == centre_id, Office.code == code))
    if office_id is None:
        raise OfficeError(f"centre {centre_id} has no {code} office")
    row = OfficeStatus(centre_id=centre_id, office_id=office_id, state=state, reason=reason,
                       staff_id=staff_id, via=via, set_at=now, expires_at=expires_at)
    session.add(row)
    session.flush()
    return _status(row, code)


def current(rt: Runtime, centre_ids: list[int] | None = None, now: datetime | None = None) -> list[Status]:
    """The statuses in force at ``now``: per centre and office, the latest row set by then,
    unless it has expired; only offices the centre still has. ``centre_ids`` None = every
    centre. Ordered by centre, then office reference order."""
    now = now or rt.clock.now()
    latest = (select(OfficeStatus.centre_id, OfficeStatus.office_id, func.max(OfficeStatus.id).label("id"))
              .where(OfficeStatus.set_at <= now).group_by(OfficeStatus.centre_id, OfficeStatus.office_id))
    if centre_ids is not None:
        latest = latest.where(OfficeStatus.centre_id.in_(centre_ids))
    latest = latest.subquery()
    query = (select(OfficeStatus, Office.code).join(latest, latest.c.id == OfficeStatus.id)
             .join(Office, Office.id == OfficeStatus.office_id)
             .join(centre_offices, (centre_offices.c.centre_id == OfficeStatus.centre_id)
                   & (centre_offices.c.office_id == OfficeStatus.office_id))
             .where(OfficeStatus.expires_at > now)
             .order_by(OfficeStatus.centre_id, Office.id))
    with rt.sessions() as session:
        return [_status(row, code) for row, code in session.execute(query)]


def history(rt: Runtime, centre_id: int, since: datetime | None = None) -> list[Status]:
    """Every status row of a centre (expired ones included), oldest first."""
    query = (select(OfficeStatus, Office.code).join(Office, Office.id == OfficeStatus.office_id)
             .where(OfficeStatus.centre_id == centre_id).order_by(OfficeStatus.set_at, OfficeStatus.id))
    if since is not None:
        query = query.where(OfficeStatus.set_at >= since)
    with rt.sessions() as session:
        return [_status(row, code) for row, code in session.execute(query)]
