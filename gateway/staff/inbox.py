"""The staff inbox's guards over :mod:`gateway.staff.questions`: a form acts only on the thread
its author read, and the home page's counts.

Contract: :func:`seen_digest` is the digest of what a thread's page showed that an answer or a
close depends on — its status, its centre and its latest citizen message or answer (a note
changes nothing: it is never sent). :func:`answer` and :func:`close` recompute it and refuse,
with :class:`Changed` and nothing sent or written, when it differs: a thread closed meanwhile
(its own message, so the clerk knows the answer did not go), or answered, transferred or
written to again by the citizen. Scope, audit and the SMS itself are
:mod:`gateway.staff.questions`'; its errors pass through. :func:`waiting` counts the open and
overdue threads an actor may see. ``now`` is injectable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.dialogue.questions import QuestionError, Thread
from gateway.runtime import Runtime
from gateway.staff import questions
from gateway.staff.accounts import Member
from gateway.staff.seen import digest, same

CLOSED_MEANWHILE = "{ref} was closed meanwhile, so your answer was not sent. Read it again before answering."
CHANGED = ("{ref} changed since you opened it (a new message, an answer or a transfer), so nothing was "
           "sent or changed. Read it again, then act.")


class Changed(QuestionError):
    """The thread is not as its page showed when the form was opened; nothing was done."""


@dataclass(frozen=True)
class Waiting:
    """What the home page says of the inbox: open threads and, of them, the overdue."""

    open: int
    overdue: int


def seen_digest(thread: Thread) -> str:
    """What an answer or a close on ``thread`` was decided on (see the module's contract)."""
    said = [e.id for e in thread.entries if e.kind in ("citizen", "answer")]
    return digest(thread.ref, thread.status, thread.centre_id, said[-1] if said else None)


def _refuse_unless(seen: str | None, ref: str, status: str, centre_id: int | None, last_said: int | None) -> None:
    if same(seen, digest(ref, status, centre_id, last_said)):
        return
    raise Changed((CLOSED_MEANWHILE if status == "closed" else CHANGED).format(ref=ref))


def _unchanged(rt: Runtime, actor: Member | str, ref: str, seen: str | None, now: datetime | None):
    """The check before (a clear refusal without taking a lock) and the check the write makes
    again under the thread's row lock (a close or an answer landing in between is seen)."""
    thread = questions.read(rt, actor, ref, now=now)
    said = [e.id for e in thread.entries if e.kind in ("citizen", "answer")]
    _refuse_unless(seen, ref, thread.status, thread.centre_id, said[-1] if said else None)
    return lambda state: _refuse_unless(seen, ref, *state)


def answer(rt: Runtime, actor: Member | str, ref: str, text: str, seen: str | None, *,
           address: str | None = None, now: datetime | None = None) -> Thread:
    """Answer thread ``ref`` as its page showed it (``seen``), else :class:`Changed`."""
    still = _unchanged(rt, actor, ref, seen, now)
    return questions.reply(rt, actor, ref, text, address=address, now=now, check=still)


def close(rt: Runtime, actor: Member | str, ref: str, outcome: str | None, seen: str | None, *,
          address: str | None = None, now: datetime | None = None) -> None:
    """Close thread ``ref`` with ``outcome`` as its page showed it (``seen``), else :class:`Changed`."""
    still = _unchanged(rt, actor, ref, seen, now)
    questions.close(rt, actor, ref, outcome, address=address, now=now, check=still)


def waiting(rt: Runtime, actor: Member | str, now: datetime | None = None) -> Waiting:
    """Open and overdue threads ``actor`` may see (admins: every centre and the unassigned)."""
    open_threads = questions.inbox(rt, actor, now=now)
    return Waiting(len(open_threads), sum(1 for t in open_threads if t.overdue))
