"""POPIA requests about one number: export everything held about it, or delete it.

Contract:

- :func:`subject_of` normalises what a person typed (``082 123 4567``, ``27821234567``,
  ``+27 82 123 4567``) to E.164 or raises :class:`~gateway.phones.InvalidPhone`.
- :func:`export` returns ``{"number", "exported_at", "holders": {name: [items]}}`` from every
  holder in :data:`gateway.staff.holders.HOLDERS` (JSON-safe).
- :func:`erase` deletes every row and key the holders find, in one SQL transaction, then the
  Redis keys, and leaves only the opt-out marker (the citizen row: number, opted out, when);
  it returns how many rows or keys each holder lost.
- Both write an audit row (``privacy.exported`` / ``privacy.deleted``) whose target is the
  masked number (as the logs show it) and whose detail carries :func:`reference`, a keyed hash
  that lets an auditor holding the number confirm which request was about it — never the
  number itself.
"""

from __future__ import annotations

import hashlib
import hmac

from config import mask_phone
from gateway.clock import SAST
from gateway.phones import to_e164
from gateway.runtime import Runtime
from gateway.staff import audit
from gateway.staff.accounts import Member
from gateway.staff.holders import HOLDERS, REDIS_HOLDERS, Subject
from gateway.store.models import utcnow


def subject_of(rt: Runtime, typed: str) -> Subject:
    """The request's subject; :class:`~gateway.phones.InvalidPhone` if ``typed`` is no number."""
    return Subject(to_e164(typed), rt.settings)


def reference(subject: Subject) -> str | None:
    """A keyed hash of the number (HMAC-SHA256 with ``SECRET_KEY``, 32 hex digits) for the
    audit log; None when no key is set (development)."""
    key = subject.settings.SECRET_KEY
    if not key:
        return None
    return hmac.new(key.encode(), b"privacy:" + subject.phone.encode(), hashlib.sha256).hexdigest()[:32]


def _is_redis(holder) -> bool:
    return isinstance(holder, REDIS_HOLDERS)


def export(rt: Runtime, subject: Subject) -> dict:
    """Everything every holder keeps about ``subject``, by holder name."""
    with rt.engine.connect() as conn:
        held = {h.name: h.find(conn, rt.redis, subject) for h in HOLDERS}
    return {"number": subject.phone, "exported_at": utcnow().astimezone(SAST).isoformat(timespec="seconds"), "holders": held}


def erase(rt: Runtime, subject: Subject) -> dict[str, int]:
    """Delete what every holder keeps about ``subject`` but the opt-out marker; counts by holder."""
    removed: dict[str, int] = {}
    with rt.engine.begin() as conn:
        for holder in HOLDERS:
            if not _is_redis(holder):
                removed[holder.name] = holder.erase(conn, rt.redis, subject)
    for holder in HOLDERS:
        if _is_redis(holder):
            removed[holder.name] = holder.erase(None, rt.redis, subject)
    return removed


def counts(held: dict) -> dict[str, int]:
    """How many items each holder has in an export."""
    return {name: len(items) for name, items in held["holders"].items()}


def record(rt: Runtime, actor: Member | str, action: str, subject: Subject,
           address: str | None = None, **detail) -> None:
    """The audit row of a request: masked number and keyed reference, never the number."""
    audit.record(rt, actor, action, target=mask_phone(subject.phone), address=address,
                 detail={"ref": reference(subject), **detail})
