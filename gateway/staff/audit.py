"""The audit log: who did what, when, from which address.

Every staff action writes one :class:`~gateway.store.models.AuditEvent` through :func:`record`;
the dashboard's audit page reads them back with :func:`events`, newest first. Actions are the
dotted names in :data:`ACTIONS` (a typo raises ``ValueError`` rather than writing a row no
filter will find).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.runtime import Runtime
from gateway.staff.accounts import Member
from gateway.store.models import AuditEvent

ACTIONS = (
    "login.ok", "login.failed", "logout",
    "staff.added", "staff.disabled", "staff.enabled", "staff.password_reset", "staff.changed",
    "staff.invited", "staff.invite_texted", "staff.invitation_used", "staff.invitation_refused",
    "broadcast.created", "broadcast.approved", "broadcast.rejected", "broadcast.sent",
    "broadcast.cancelled", "broadcast.test_sent",
    "visit.created", "visit.approved", "visit.rejected", "visit.edited", "visit.cancelled",
    "visit.cancel_requested", "visit.cancel_refused",
    "centre.edited", "centre.change_submitted", "centre.change_approved", "centre.change_rejected",
    "centre.change_withdrawn", "csv.imported", "csv.exported",
    "privacy.exported", "privacy.deleted",
    "staff.texted", "messages.looked_up",
    "office.status_set",
    "question.replied", "question.noted", "question.closed", "question.transferred",
    "translation.imported", "translation.reviewed", "translation.suggested", "translation.accepted",
    "translation.rejected",
    "template.created", "template.edited", "template.deleted",
)
CLI = "cli"  # the actor of commands run with `thusong` on the server


@dataclass(frozen=True)
class Page:
    """One page of audit events (``number`` counts from 1)."""

    events: list[AuditEvent]
    number: int
    pages: int
    total: int


def record(where: Runtime | sessionmaker[Session] | Session, actor: Member | str, action: str,
           target: str | None = None, address: str | None = None, detail: str | dict | None = None) -> None:
    """Write one audit row. ``where`` is the runtime or a sessionmaker (the row is committed on
    its own) or an open ``Session`` (the row joins the caller's transaction, so it is written
    exactly when the action is). ``actor`` is the account, or text such as ``"cli"`` or the
    email a failed login gave; ``detail`` may be a dict (stored as JSON)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if isinstance(detail, dict):
        detail = json.dumps(detail, sort_keys=True, default=str)
    member = actor if isinstance(actor, Member) else None
    event = AuditEvent(staff_id=member.id if member else None, actor=(member.email if member else actor)[:254],
                       action=action, target=(target or None) and target[:254],
                       address=(address or None) and address[:64], detail=detail)
    if isinstance(where, Session):
        where.add(event)
        return
    sessions = where.sessions if isinstance(where, Runtime) else where
    with sessions.begin() as session:
        session.add(event)


def events(sessions: sessionmaker[Session], action: str | None = None, page: int = 1,
           per_page: int = 50, since: datetime | None = None) -> Page:
    """Audit events newest first, optionally only one action (or an action family such as
    ``"broadcast"``), one page at a time."""
    query = select(AuditEvent)
    if action in ACTIONS:
        query = query.where(AuditEvent.action == action)
    elif action:
        query = query.where(AuditEvent.action.startswith(action.rstrip(".") + "."))
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        rows = session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                               .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(rows), page, pages, total)
