"""Staff answering citizens' questions and complaints (the records are
:mod:`gateway.dialogue.questions`'): the one place that decides who may read and act on which
thread, and that audits each action with its author. The dashboard's inbox and the
``thusong questions`` commands both call these; nothing else writes a thread on staff's behalf.

Contract (every function takes the ``actor`` — a :class:`~gateway.staff.accounts.Member`, or
:data:`audit.CLI` for the command line — and ``now``, default the runtime's clock):

- Scope: a clerk (or an approver with centres) sees and acts on threads of their own centres
  only; admins (and approvers with no centre) on every centre and the unassigned queue. A
  thread out of scope is refused as if it did not exist (:class:`QuestionNotFound`), so a
  reference is no way to learn of another centre's thread. Disabled accounts are refused.
- :func:`inbox` lists open threads in scope, oldest first (``state="overdue"`` only the
  overdue ones, ``"all"`` closed ones too; ``centre_id`` narrows to one centre);
  :func:`read` gives one thread with its messages (the number is in clear on ``Thread.phone``:
  pages show it through the ``masked`` filter, as everywhere).
- :func:`preview` is the answer SMS as the citizen will get it (reference first, the opt-out
  line last), measured and costed as broadcast compose shows it; :func:`reply` queues exactly
  that on the replies queue from the shortcode the citizen texted — no second approver: it is
  a one-to-one answer to the citizen's own request — and audits ``question.replied``.
- :func:`note` (internal, never sent), :func:`close` (with an outcome), :func:`transfer`
  (to another centre; a clerk only from one of theirs, to any centre) each audit their action.
- Audit rows name the reference and, for transfers, the centres: never the number or the text.

Errors: :class:`~gateway.staff.accounts.StaffError` (a disabled account),
:class:`QuestionNotFound` (unknown or out of scope), ``QuestionError`` (empty text, too long
an answer, closed thread, unknown centre) — all ValueErrors with a message fit to show.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from gateway.dialogue import questions as records
from gateway.dialogue.questions import QuestionError, Thread
from gateway.runtime import Runtime
from gateway.staff import audit
from gateway.staff.accounts import Member, StaffError, allowed_centre_ids
from gateway.staff.preview import Preview, measure_text
from menus.questions import ANSWER_SEGMENTS, answer_sms
from menus.segments import measure

STATES = ("open", "overdue", "all")


class QuestionNotFound(QuestionError):
    """No such reference, or not one the actor may see."""


def scope(actor: Member | str) -> frozenset[int] | None:
    """The centres whose threads ``actor`` may see (None: every centre and the unassigned)."""
    if actor == audit.CLI:
        return None
    if not isinstance(actor, Member):
        raise StaffError(f"unknown actor {actor!r}")
    if not actor.active:
        raise StaffError("this account is disabled")
    return allowed_centre_ids(actor)


def _staff_id(actor: Member | str) -> int | None:
    return actor.id if isinstance(actor, Member) else None


def _check(rt: Runtime, actor: Member | str, ref: str) -> None:
    allowed = scope(actor)
    centre_id, exists = records.centre_of(rt, ref)
    if not exists or (allowed is not None and centre_id not in allowed):
        raise QuestionNotFound(f"no question {ref}")


def inbox(rt: Runtime, actor: Member | str, *, state: str = "open", centre_id: int | None = None,
          now: datetime | None = None) -> list[Thread]:
    """The threads ``actor`` may see (see the module's contract), oldest first."""
    if state not in STATES:
        raise QuestionError(f"unknown state {state!r}: one of {', '.join(STATES)}")
    allowed = scope(actor)
    if centre_id is not None:
        if allowed is not None and centre_id not in allowed:
            raise StaffError(f"centre {centre_id} is not one of yours")
        return records.threads(rt, frozenset({centre_id}), state=state, now=now)
    return records.threads(rt, allowed, unassigned=allowed is None, state=state, now=now)


def read(rt: Runtime, actor: Member | str, ref: str, now: datetime | None = None) -> Thread:
    """Thread ``ref`` with its messages."""
    _check(rt, actor, ref)
    return records.thread(rt, ref, now=now)


def preview(rt: Runtime, actor: Member | str, ref: str, text: str) -> Preview:
    """The answer SMS ``text`` makes, measured and costed for its one recipient."""
    thread = read(rt, actor, ref)
    return measure_text(rt.settings, answer_sms(thread.language, ref, text), 1)


def _answer_text(thread: Thread, text: str) -> str:
    body = " ".join((text or "").split())
    if not body:
        raise QuestionError("the answer is empty")
    sms = answer_sms(thread.language, thread.ref, body)
    if measure(sms).segments > ANSWER_SEGMENTS:
        raise QuestionError(f"the answer is longer than {ANSWER_SEGMENTS} SMS; shorten it")
    return sms


def reply(rt: Runtime, actor: Member | str, ref: str, text: str, *, close: bool = False,
          outcome: str | None = None, address: str | None = None, now: datetime | None = None,
          check: Callable | None = None) -> Thread:
    """Answer thread ``ref`` by SMS (queued at once, audited with the author); ``close``
    also closes it with ``outcome``. A closed thread is answered too (it reopens only when
    the citizen writes back). ``check``: see :func:`gateway.dialogue.questions.add_answer`."""
    thread = read(rt, actor, ref, now=now)
    sms = _answer_text(thread, text)
    with rt.sessions.begin() as session:
        after = records.add_answer(rt, session, ref, sms, " ".join(text.split()), _staff_id(actor),
                                   close=close, outcome=outcome, now=now, check=check)
        audit.record(session, actor, "question.replied", target=f"question {ref}", address=address,
                     detail={"segments": measure(sms).segments, "closed": close})
    records.after_answer(rt)
    return after


def note(rt: Runtime, actor: Member | str, ref: str, text: str, *, address: str | None = None,
         now: datetime | None = None) -> None:
    """Add an internal note to thread ``ref`` (never sent to the citizen)."""
    _check(rt, actor, ref)
    if not (text or "").strip():
        raise QuestionError("the note is empty")
    with rt.sessions.begin() as session:
        records.add_note(rt, session, ref, text.strip(), _staff_id(actor), now=now)
        audit.record(session, actor, "question.noted", target=f"question {ref}", address=address)


def close(rt: Runtime, actor: Member | str, ref: str, outcome: str | None = None, *,
          address: str | None = None, now: datetime | None = None, check: Callable | None = None) -> None:
    """Close thread ``ref`` with ``outcome`` (staff's words; no SMS goes); ``check`` as for
    :func:`reply`."""
    _check(rt, actor, ref)
    with rt.sessions.begin() as session:
        records.close(rt, session, ref, _staff_id(actor), (outcome or "").strip() or None, now=now, check=check)
        audit.record(session, actor, "question.closed", target=f"question {ref}", address=address)


def transfer(rt: Runtime, actor: Member | str, ref: str, centre_id: int, *, address: str | None = None,
             now: datetime | None = None) -> None:
    """Route thread ``ref`` to centre ``centre_id`` (admins also route the unassigned)."""
    _check(rt, actor, ref)
    with rt.sessions.begin() as session:
        before = records.transfer(rt, session, ref, centre_id, now=now)
        audit.record(session, actor, "question.transferred", target=f"question {ref}", address=address,
                     detail={"from": before, "to": centre_id})
