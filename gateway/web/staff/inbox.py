"""The staff inbox, ``/staff/inbox``: citizens' questions and complaints (every role; what each
account sees is :mod:`gateway.staff.questions`' scope — a clerk their centres' threads, admins
every centre and the unassigned queue).

- The list: open threads oldest first, each with its age in working hours (weekdays 08:00–16:30
  SAST without public holidays: :mod:`gateway.sms.working_time`), overdue ones marked;
  ``?state=overdue`` lists only those.
- A thread's page: its messages (the number masked, as on every page), and one small form each
  to answer (the SMS previewed with its segments and cost before it goes, as compose shows it;
  ``static/staff.js`` refreshes the preview while typing), add an internal note, close with an
  outcome and transfer to another centre (admins also route the unassigned). Without
  JavaScript each is a plain post; the forms post to the thread's own address, so a stale form
  is shown again there with what was typed (:mod:`~gateway.web.staff.refusals`).
- A thread out of the account's scope is 404, as one that does not exist. An answer or a close
  carries the digest of what the page showed (:mod:`gateway.staff.inbox`): a thread closed,
  answered or transferred meanwhile refuses it with a line saying so, and nothing is sent.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import SelectChoice

from gateway.clock import SAST
from gateway.dialogue.questions import QuestionError, Thread
from gateway.dialogue.references import is_reference
from gateway.staff import inbox, questions
from gateway.staff.accounts import StaffError
from gateway.staff.questions import QuestionNotFound
from gateway.store.models import Centre
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member
from gateway.web.staff.forms import AnswerForm, CloseForm, NoteForm, TransferForm
from menus.questions import ANSWER_SEGMENTS

KINDS = {"ask": "Question", "complain": "Complaint"}
ENTRY_KINDS = {"citizen": "Citizen", "answer": "Answer (SMS)", "note": "Internal note"}


def _at(moment: datetime | None) -> str:
    return f"{moment.astimezone(SAST):%d %b %H:%M}" if moment else ""


def _age(hours: float) -> str:
    """An age in working hours as staff read it: "3.5 working h"."""
    return f"{hours:g} working h"


@bp.get("/inbox")
def inbox_list():
    rt, member = runtime_of(), current_member()
    state = request.args.get("state", "open")
    if state not in ("open", "overdue"):
        state = "open"
    try:
        threads = questions.inbox(rt, member, state=state)
    except StaffError:
        abort(403)  # a disabled account still logged in
    counts = inbox.waiting(rt, member)
    return render_template("staff/inbox.html", threads=threads, state=state, counts=counts, kinds=KINDS,
                           age=_age, at=_at, everything=questions.scope(member) is None)


def _thread_or_404(rt, ref: str) -> Thread:
    if not is_reference(ref):
        abort(404)
    try:
        return questions.read(rt, current_member(), ref)
    except (QuestionNotFound, StaffError):
        abort(404)


def _centre_choices(rt, thread: Thread) -> list[SelectChoice]:
    """Every active centre but the thread's own (a clerk may hand a thread to any centre),
    after a "choose" that sends nowhere: no thread moves by a missed tap."""
    with rt.sessions() as s:
        rows = s.execute(select(Centre.id, Centre.name).where(Centre.active.is_(True)).order_by(Centre.name)).all()
    return [SelectChoice("", "Choose a centre…")] + [SelectChoice(cid, name) for cid, name in rows
                                                      if cid != thread.centre_id]


@bp.route("/inbox/<ref>", methods=["GET", "POST"])
def inbox_thread(ref: str):
    rt, member = runtime_of(), current_member()
    thread = _thread_or_404(rt, ref)
    answer_form, note_form, close_form = AnswerForm(), NoteForm(), CloseForm()
    transfer_form = TransferForm()
    transfer_form.centre.choices = _centre_choices(rt, thread)
    do = request.form.get("do", "")
    preview = None
    if request.method == "POST":
        done = _act(rt, member, thread, do, answer_form, note_form, close_form, transfer_form)
        if done is not None:
            return done
        if do == "preview" and answer_form.answer.data:
            preview = _preview(rt, member, ref, answer_form.answer.data)
    if request.method == "GET" or do not in ("send", "preview", "close"):
        answer_form.seen.data = close_form.seen.data = inbox.seen_digest(thread)
    return render_template("staff/inbox_thread.html", thread=thread, kinds=KINDS, entry_kinds=ENTRY_KINDS,
                           answer_form=answer_form, note_form=note_form, close_form=close_form,
                           transfer_form=transfer_form, shown=preview or {}, limit=ANSWER_SEGMENTS, age=_age, at=_at)


def _act(rt, member, thread: Thread, do: str, answer_form, note_form, close_form, transfer_form):
    """Carry out the posted form ``do``; a redirect when it was done, None to show the page
    again (with the form's errors, or the domain's refusal flashed)."""
    ref, address = thread.ref, client_address()
    try:
        if do == "send" and answer_form.validate_on_submit():
            inbox.answer(rt, member, ref, answer_form.answer.data, answer_form.seen.data, address=address)
            flash(f"Your answer to {ref} is on its way.", "info")
        elif do == "note" and note_form.validate_on_submit():
            questions.note(rt, member, ref, note_form.note.data, address=address)
            flash(f"Note added to {ref}.", "info")
        elif do == "close" and close_form.validate_on_submit():
            inbox.close(rt, member, ref, close_form.outcome.data, close_form.seen.data, address=address)
            flash(f"{ref} is closed: {close_form.outcome.data}.", "info")
            return redirect(url_for("staff.inbox_list"))
        elif do == "transfer" and transfer_form.validate_on_submit():
            questions.transfer(rt, member, ref, transfer_form.centre.data, address=address)
            flash(f"{ref} went to {_centre_name(rt, transfer_form.centre.data)}.", "info")
            return redirect(url_for("staff.inbox_list"))
        else:
            for form in (answer_form, close_form):  # a hidden field's error has no place on the page
                if do in ("send", "close") and form.seen.errors:
                    flash(" ".join(form.seen.errors), "error")
            return None
    except QuestionNotFound:
        abort(404)
    except inbox.Changed as exc:
        flash(str(exc), "error")
        # The page now shows the thread as it is: what is typed stays, to send on purpose.
        answer_form.seen.data = close_form.seen.data = inbox.seen_digest(thread)
        return None
    except (QuestionError, StaffError) as exc:
        flash(f"Not done: {exc}", "error")
        return None
    return redirect(url_for("staff.inbox_thread", ref=ref))


def _centre_name(rt, centre_id: int) -> str:
    with rt.sessions() as s:
        return s.scalar(select(Centre.name).where(Centre.id == centre_id)) or f"centre {centre_id}"


def _preview(rt, member, ref: str, text: str) -> dict:
    """What the preview shows: the answer SMS measured and costed, or why there is none."""
    if not (text or "").strip():
        return {}
    try:
        shown = questions.preview(rt, member, ref, text)
    except QuestionNotFound:
        abort(404)
    except QuestionError as exc:
        return {"error": str(exc)}
    codepoint = f"U+{ord(shown.ucs2_because):04X}" if shown.ucs2_because else ""
    return {"preview": shown, "codepoint": codepoint}


@bp.post("/inbox/<ref>/preview")
def inbox_preview(ref: str):
    """The preview fragment the thread page's script asks for while the answer is typed."""
    rt, member = runtime_of(), current_member()
    _thread_or_404(rt, ref)
    form = AnswerForm()
    form.validate()
    return render_template("staff/_answer_preview.html", shown=_preview(rt, member, ref, form.answer.data or ""),
                           limit=ANSWER_SEGMENTS)
