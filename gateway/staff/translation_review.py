"""Review in context, string by string, from the dashboard (docs/translations.md).

Contract: a reviewer (role ``reviewer``, or an admin) marks a string :func:`correct` — it
becomes reviewed by them, for the wording they saw — or :func:`suggest`s a wording, which
passes the import's checks (``gateway.staff.translations.judge``: placeholders, budgets by the
walk, keywords) when proposed and waits in ``translation_suggestions``. An admin other than its
author :func:`accept`s it (checked again: the catalogue may have moved on; then written and
marked reviewed by its author) or :func:`reject`s it. Each step is audited. The catalogue and
review files are changed under an exclusive lock, so two processes never interleave.

Errors (all :class:`ReviewError`, none retryable): :class:`Refused` (the checks refused the
wording; ``findings`` say why), :class:`Stale` (the string changed since the page showed it),
:class:`NotAllowed` (an author accepting their own suggestion), :class:`NotPending` (no such
suggestion waiting).
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager

from sqlalchemy import select

from gateway.staff import audit
from gateway.staff.accounts import Member
from gateway.staff.translation_checks import Finding
from gateway.staff.translations import Accepted, ImportReport, apply, judge
from gateway.store.models import TranslationSuggestion, utcnow
from menus.po import PoString
from menus.translation import Files, entries


class ReviewError(Exception):
    """A review step that cannot be done as asked."""

    retryable = False


class Refused(ReviewError):
    def __init__(self, findings: list[Finding]):
        super().__init__("; ".join(f.reason for f in findings if f.refused))
        self.findings = findings


class Stale(ReviewError):
    """The wording changed since the page showed it: look again."""


class NotAllowed(ReviewError):
    """The two-person rule: a suggestion is accepted by someone else."""


class NotPending(ReviewError):
    """No such suggestion is waiting."""


@contextmanager
def locked(files: Files):
    """Exclusive lock on the catalogues folder for a read-change-write of its files."""
    fd = os.open(files.catalogues, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _entry(files: Files, lang: str, key: str):
    found = next((e for e in entries(files, lang) if e.key == key), None)
    if found is None:
        raise NotPending(f"no string {key!r}")
    return found


def correct(rt, files: Files, member: Member, lang: str, key: str, seen: str) -> ImportReport:
    """Mark ``key`` reviewed by ``member`` for the wording ``seen`` (what the page showed)."""
    with locked(files):
        entry = _entry(files, lang, key)
        if entry.text is None or entry.text != seen:
            raise Stale(f"{key} changed since the page showed it")
        report = ImportReport(lang)
        report.accepted = [Accepted(key, entry.text, 0, True)]
        apply(files, report, member.name, rt.clock.local().date())
    if report.reviewed:
        audit.record(rt, member, "translation.reviewed", target=f"{lang} {key}")
    return report


def suggest(rt, files: Files, member: Member, lang: str, key: str, text: str) -> tuple[int, list[Finding]]:
    """Check ``text`` for ``key`` as an import would; store it waiting for an admin. Returns
    the suggestion's id and the warnings (a UCS-2 letter); :class:`Refused` if refused."""
    entry = _entry(files, lang, key)
    text = text.strip()
    if not text:
        raise Refused([Finding(None, key, "an empty wording")])
    report = judge(rt, files, lang, [PoString(key, entry.english, text, False, 0)])
    if report.refused or not report.accepted:
        raise Refused(report.refused or [Finding(None, key, "nothing to suggest")])
    with rt.sessions.begin() as s:
        row = TranslationSuggestion(lang=lang, key=key, text=text, english=entry.english, status="pending",
                                    author_id=member.id, author_name=member.name)
        s.add(row)
        s.flush()
        audit.record(s, member, "translation.suggested", target=f"{lang} {key}", detail={"text": text})
        return row.id, report.findings


def waiting(rt, lang: str | None = None) -> list[TranslationSuggestion]:
    """Suggestions waiting for an admin, oldest first (``lang``: one language only)."""
    query = select(TranslationSuggestion).where(TranslationSuggestion.status == "pending")
    if lang:
        query = query.where(TranslationSuggestion.lang == lang)
    with rt.sessions() as s:
        return list(s.scalars(query.order_by(TranslationSuggestion.id)))


def accept(rt, files: Files, admin: Member, suggestion_id: int) -> ImportReport:
    """Write a waiting suggestion, checked again, marked reviewed by its author."""
    with rt.sessions.begin() as s:
        row = _pending(s, suggestion_id)
        if row.author_id == admin.id:
            raise NotAllowed("a suggestion is accepted by someone other than its author")
        with locked(files):
            report = judge(rt, files, row.lang, [PoString(row.key, row.english, row.text, False, 0)])
            if report.refused or not report.accepted:
                raise Refused(report.refused or [Finding(None, row.key, "nothing to accept")])
            apply(files, report, row.author_name, rt.clock.local().date())
        row.status, row.decided_by, row.decided_at = "accepted", admin.id, utcnow()
        audit.record(s, admin, "translation.accepted", target=f"{row.lang} {row.key}",
                     detail={"text": row.text, "reviewer": row.author_name})
    return report


def reject(rt, admin: Member, suggestion_id: int) -> str:
    """Set a waiting suggestion aside; returns its language."""
    with rt.sessions.begin() as s:
        row = _pending(s, suggestion_id)
        row.status, row.decided_by, row.decided_at = "rejected", admin.id, utcnow()
        audit.record(s, admin, "translation.rejected", target=f"{row.lang} {row.key}", detail={"text": row.text})
        return row.lang


def _pending(s, suggestion_id: int) -> TranslationSuggestion:
    row = s.get(TranslationSuggestion, suggestion_id, with_for_update=True)
    if row is None or row.status != "pending":
        raise NotPending(f"suggestion {suggestion_id} is not waiting")
    return row
