"""What a decision on a service visit will send, before it is taken: the messages the
approver reads (each exact SMS, its recipients now, segments and cost, when it goes) and the
digest of them that the decision must match (:mod:`gateway.staff.seen`).

Contract:
- :func:`on_approval` of a visit waiting for approval: its **notice** (``visit:ID``), for a
  change of an approved visit the **correction** to those told of it (``told:OLD``), and the
  **reminder** (``centre:ID``) at :func:`reminder_at` when one goes. :func:`on_cancel` of an
  approved visit: the correction to those told (none when nobody was).
- :func:`approval_digest` binds the visit's centre, service, day and times, the version it
  changes, and each planned message's kind, target and exact text — not the counts or start
  times, which move with subscribers and the clock. :func:`cancel_digest` binds the visit,
  the request to cancel it (who asked, why) and the correction's text.
- :func:`reminder_at`: the last bulk window that opens before the visit's day, at
  :data:`REMINDER_TIME` local if it holds it; none when that window opens before the notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from gateway.clock import SAST
from gateway.sms import bulk
from gateway.staff import seen, visit_text
from gateway.staff.preview import Preview, full_text, measure_text
from gateway.staff.progress import starts_at
from gateway.staff.targets import count_recipients, parse
from gateway.store.models import Visit

REMINDER_TIME = time(10)  # mid-morning: inside Saturday's 09:00-13:00 and a weekday's 08:00-20:00
REMINDER_MARGIN = timedelta(hours=1)  # a reminder starts at least this long before its window closes
LOOKBACK_DAYS = 7  # how far before the visit a reminder's window is looked for (Easter: 4 closed days)


@dataclass(frozen=True)
class Planned:
    """One message a decision sends: what kind, to whom, the exact SMS with its numbers, when."""

    kind: str  # "Notice" | "Correction" | "Reminder"
    target: str
    preview: Preview
    at: datetime


def reminder_at(day: date, notice_at: datetime, schedule) -> datetime | None:
    """When the reminder of a visit on ``day`` goes, the notice going at ``notice_at``: in the
    last bulk window that opens before the day (the day before, or the last open one before
    it when that day is closed to bulk), at :data:`REMINDER_TIME` local if the window holds it
    (else as near as it allows, at least :data:`REMINDER_MARGIN` before it closes); ``None``
    when that window opens before the notice goes (the notice itself is the reminder)."""
    midnight = datetime.combine(day, time(0), SAST)
    last = None
    for start, end in schedule.windows_from(max(notice_at, midnight - timedelta(days=LOOKBACK_DAYS))):
        if start >= midnight:
            break
        last = (start, end)
    if last is None or last[0] <= notice_at:
        return None
    start, end = last
    preferred = datetime.combine(start.astimezone(SAST).date(), REMINDER_TIME, SAST)
    return min(max(preferred, start), max(start, end - REMINDER_MARGIN))


def _planned(rt, kind: str, target: str, text: str, at: datetime) -> Planned:
    with rt.sessions() as s:
        count = count_recipients(s, parse(target))
    return Planned(kind, target, measure_text(rt.settings, full_text(rt.settings, text, None), count), at)


def on_approval(rt, row: Visit) -> list[Planned]:
    """What approving ``row`` (waiting for approval) sends now, as things stand."""
    centre = visit_text.centre_name(rt, row.centre_id)
    now = starts_at(rt)
    plan = []
    if row.replaces_id is not None:
        with rt.sessions() as s:
            old = s.get(Visit, row.replaces_id)
        plan.append(_planned(rt, "Correction", f"told:{old.id}", visit_text.change_text(old, row, centre), now))
    plan.append(_planned(rt, "Notice", f"visit:{row.id}", visit_text.notice_text(row, centre), now))
    at = reminder_at(row.day, now, bulk.schedule_of(rt.settings))
    if at is not None:
        plan.append(_planned(rt, "Reminder", f"centre:{row.centre_id}", visit_text.reminder_text(row, centre), at))
    return plan


def notice_preview(rt, centre_id: int, details) -> Preview:
    """The notice a visit with ``details`` (a :class:`~gateway.staff.visits.Details`) at
    ``centre_id`` would send, as the visit form shows it before anything is stored: the exact
    SMS, its segments, encoding and cost for the centre's subscribers now."""
    text = visit_text.notice_text(details, visit_text.centre_name(rt, centre_id))
    return _planned(rt, "Notice", f"centre:{centre_id}", text, starts_at(rt)).preview


def on_cancel(rt, row: Visit) -> list[Planned]:
    """What cancelling ``row`` sends: a correction to those told of it, if anyone was."""
    if row.status != "approved":
        return []
    text = visit_text.cancel_text(row, visit_text.centre_name(rt, row.centre_id))
    planned = _planned(rt, "Correction", f"told:{row.id}", text, starts_at(rt))
    return [planned] if planned.preview.recipients else []


def _facts(row: Visit) -> tuple:
    return (row.id, row.centre_id, row.service, row.office_id, row.day, row.starts, row.ends, row.replaces_id,
            row.status)


def approval_digest(rt, row: Visit) -> str:
    messages = [(p.kind, p.target, p.preview.text) for p in on_approval(rt, row)]
    return seen.digest("approve", *_facts(row), *messages)


def cancel_digest(rt, row: Visit) -> str:
    text = visit_text.cancel_text(row, visit_text.centre_name(rt, row.centre_id))
    return seen.digest("cancel", *_facts(row), row.cancel_requested_by, row.cancel_reason, text)


