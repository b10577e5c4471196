"""The approvals inbox: what waits for a decision under the two-person rule — broadcasts,
service visits (and requests to cancel one), clerks' changes to a centre's name, address or
phone — and what was decided on someone's items since they last looked.

Contract:
- :func:`waiting_for` — the items ``member`` may decide now (an approver or admin; a clerk
  none): exactly what each item's own page would let them approve — in their centres
  (:func:`~gateway.staff.accounts.allowed_centre_ids`, as each item's module applies it) and
  not their own (the two-person rule: the author, or who asked to cancel, never decides).
- :func:`mine_waiting` — ``member``'s own items still waiting for someone else.
- :func:`decided_since` — decisions (approved, rejected; a request to cancel agreed or
  refused) on ``member``'s items after a moment, newest first. They are read from the audit
  log, the one record of who decided what and when (an item's row keeps only its state).
- :func:`last_seen` / :func:`mark_seen` — when the account last opened its home page (the
  "since you last looked" of :func:`decided_since`); :func:`mark_seen` never moves it back.
Deciding stays on each item's own page, bound to what the approver saw
(:mod:`gateway.staff.seen`); this module only reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from gateway.runtime import Runtime
from gateway.staff import broadcasts as bc
from gateway.staff import centre_changes, visits
from gateway.staff.accounts import ADMIN, APPROVER, Member
from gateway.staff.progress import utc
from gateway.staff.visit_text import when_text
from gateway.store.models import AuditEvent, Broadcast, Centre, CentreChange, Staff, Visit

BROADCAST, VISIT, VISIT_CANCEL, CENTRE_CHANGE = "broadcast", "visit", "visit_cancel", "centre_change"
KINDS = {BROADCAST: "Broadcast", VISIT: "Service visit", VISIT_CANCEL: "Request to cancel a visit",
         CENTRE_CHANGE: "Centre details"}
# Audit actions that decide someone's item, and whether each approves (True) or turns it down.
DECISIONS = {
    "broadcast.approved": (BROADCAST, True), "broadcast.rejected": (BROADCAST, False),
    "visit.approved": (VISIT, True), "visit.rejected": (VISIT, False),
    "visit.cancelled": (VISIT_CANCEL, True), "visit.cancel_refused": (VISIT_CANCEL, False),
    "centre.change_approved": (CENTRE_CHANGE, True), "centre.change_rejected": (CENTRE_CHANGE, False),
}
FIRST_LOOK = timedelta(days=7)  # an account that never looked sees the last week's decisions
# Decisions read at most (newest first, everyone's): months of the whole country's. Someone
# away longer sees the decisions among the newest ones only; their items' pages say the rest.
MAX_DECISIONS = 1000
SUMMARY_CHARS = 90


@dataclass(frozen=True)
class Item:
    """One item waiting: its kind (:data:`KINDS`), id (the page it is decided on), what it
    says in short, where (a broadcast's target spec, else ``centre:ID``), who wrote or asked
    for it, and since when it waits (UTC)."""

    kind: str
    id: int
    summary: str
    target: str
    author: str
    author_id: int | None
    since: datetime

    @property
    def label(self) -> str:
        return KINDS[self.kind]


@dataclass(frozen=True)
class Decision:
    """A decision on someone's item: approved or not, by whom, when (UTC), the reason given."""

    kind: str
    id: int
    approved: bool
    by: str
    at: datetime
    reason: str | None
    author_id: int | None

    @property
    def label(self) -> str:
        return KINDS[self.kind]


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS - 1] + "…"


def _names(rt: Runtime, ids) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    with rt.sessions() as s:
        return dict(s.execute(select(Staff.id, Staff.name).where(Staff.id.in_(wanted))).all())


def _centre_names(rt: Runtime, ids) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    with rt.sessions() as s:
        return dict(s.execute(select(Centre.id, Centre.name).where(Centre.id.in_(wanted))).all())


def _visit_items(rt: Runtime, rows: list[Visit]) -> list[Item]:
    names = _names(rt, [r.cancel_requested_by or r.author_id for r in rows])
    centres = _centre_names(rt, [r.centre_id for r in rows])
    items = []
    for r in rows:
        at = f"{r.service} at {centres.get(r.centre_id, f'centre {r.centre_id}')}, {when_text(r)}"
        if r.cancel_requested_by is not None:
            items.append(Item(VISIT_CANCEL, r.id, _short(f"Cancel {at}: {r.cancel_reason}"), f"centre:{r.centre_id}",
                              names.get(r.cancel_requested_by, "someone"), r.cancel_requested_by, utc(r.updated_at)))
        else:
            what = f"Change to {at}" if r.replaces_id else at
            items.append(Item(VISIT, r.id, _short(what), f"centre:{r.centre_id}", names.get(r.author_id, "someone"),
                              r.author_id, utc(r.created_at)))
    return items


def _broadcast_items(rt: Runtime, rows: list[Broadcast]) -> list[Item]:
    names = _names(rt, [r.author_id for r in rows])
    return [Item(BROADCAST, r.id, _short(r.text), r.target, names.get(r.author_id, "someone"), r.author_id,
                 utc(r.updated_at)) for r in rows]


def _change_items(changes: list[centre_changes.Change]) -> list[Item]:
    return [Item(CENTRE_CHANGE, c.id, _short("; ".join(f"{f}: {new or '(none)'}" for f, (_old, new) in c.diff.items())
                                             or "(no difference now)"),
                 f"centre:{c.centre_id}", c.author, c.author_id, utc(c.updated_at)) for c in changes]


def _oldest_first(items: list[Item]) -> list[Item]:
    return sorted(items, key=lambda i: (i.since, i.kind, i.id))


def waiting_for(rt: Runtime, member: Member) -> list[Item]:
    """What ``member`` may approve or reject now, oldest first (none for a clerk)."""
    if member.role not in (APPROVER, ADMIN):
        return []
    actor = bc.Actor.of(member)
    with rt.sessions() as s:
        pending = list(s.scalars(select(Broadcast).where(Broadcast.status == "pending_approval")
                                 .order_by(Broadcast.id)))
    broadcasts = [r for r in pending if r.author_id != member.id and bc.visible(actor, r)]
    changes = [c for c in centre_changes.pending_changes(rt, member) if c.author_id != member.id]
    return _oldest_first(_broadcast_items(rt, broadcasts) + _visit_items(rt, visits.awaiting(rt, actor))
                         + _change_items(changes))


def mine_waiting(rt: Runtime, member: Member) -> list[Item]:
    """``member``'s own items waiting for an approver, oldest first."""
    with rt.sessions() as s:
        broadcasts = list(s.scalars(select(Broadcast).where(Broadcast.status == "pending_approval",
                                                            Broadcast.author_id == member.id)))
        rows = list(s.scalars(select(Visit).where(
            ((Visit.status == "pending_approval") & (Visit.author_id == member.id))
            | ((Visit.status == "approved") & (Visit.cancel_requested_by == member.id)))))
    changes = [c for c in centre_changes.pending_changes(rt, member) if c.author_id == member.id]
    return _oldest_first(_broadcast_items(rt, broadcasts) + _visit_items(rt, rows) + _change_items(changes))


def _item_of(event: AuditEvent) -> tuple[str, int | None]:
    """(kind, id) of the item an audit row decided: ``broadcast 12``, ``visit 3``, or a centre
    change named in the detail (its target names the centre)."""
    kind, _approved = DECISIONS[event.action]
    if kind == CENTRE_CHANGE:
        try:
            change = json.loads(event.detail or "{}").get("change")
        except (ValueError, AttributeError):
            change = None
        return kind, change if isinstance(change, int) else None
    _word, _, number = (event.target or "").partition(" ")
    return kind, int(number) if number.isdigit() else None


def _detail(event: AuditEvent) -> dict:
    try:
        detail = json.loads(event.detail or "{}")
    except ValueError:
        return {}
    return detail if isinstance(detail, dict) else {}


def decisions_between(rt: Runtime, since: datetime, until: datetime | None = None) -> list[Decision]:
    """Every decision on someone's item recorded after ``since`` (and up to ``until``), with
    the item's author (who asked, for a request to cancel), newest first."""
    query = select(AuditEvent).where(AuditEvent.action.in_(list(DECISIONS)), AuditEvent.at > since)
    if until is not None:
        query = query.where(AuditEvent.at <= until)
    with rt.sessions() as s:
        events = list(s.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(MAX_DECISIONS)))
        found: list[Decision] = []
        for event in events:
            kind, item_id = _item_of(event)
            detail = _detail(event)
            if item_id is None:
                continue
            author = _author(s, kind, item_id, detail)
            reason = detail.get("reason") if not DECISIONS[event.action][1] else None
            found.append(Decision(kind, item_id, DECISIONS[event.action][1], event.actor, utc(event.at),
                                  reason if isinstance(reason, str) else None, author))
    return found


def _author(s, kind: str, item_id: int, detail: dict) -> int | None:
    if kind == BROADCAST:
        return s.scalar(select(Broadcast.author_id).where(Broadcast.id == item_id))
    if kind == VISIT:
        return s.scalar(select(Visit.author_id).where(Visit.id == item_id))
    if kind == CENTRE_CHANGE:
        return s.scalar(select(CentreChange.author_id).where(CentreChange.id == item_id))
    # A request to cancel: who asked, as the decision recorded it. A cancel nobody had to agree
    # to has no one who asked, and so decides nothing of anyone's.
    asked_by = detail.get("asked_by")
    return asked_by if isinstance(asked_by, int) else None


def decided_since(rt: Runtime, member: Member, since: datetime | None) -> list[Decision]:
    """Decisions on ``member``'s items after ``since`` (None: the last :data:`FIRST_LOOK`)."""
    since = utc(since) if since is not None else rt.clock.now() - FIRST_LOOK
    return [d for d in decisions_between(rt, since) if d.author_id == member.id]


def centre_of_change(rt: Runtime, change_id: int) -> int | None:
    """The centre a centre change is about (its page shows the change and any rejection)."""
    with rt.sessions() as s:
        return s.scalar(select(CentreChange.centre_id).where(CentreChange.id == change_id))


def last_seen(rt: Runtime, member: Member) -> datetime | None:
    with rt.sessions() as s:
        return utc(s.scalar(select(Staff.last_seen_at).where(Staff.id == member.id)))


def mark_seen(rt: Runtime, member: Member, at: datetime) -> None:
    """Record that ``member`` looked at ``at`` (a later look already recorded stays)."""
    with rt.sessions.begin() as s:
        s.execute(update(Staff).where(Staff.id == member.id, (Staff.last_seen_at.is_(None)) | (Staff.last_seen_at < at))
                  .values(last_seen_at=at))
