"""Citizens' questions by SMS and USSD: a new ``ASK``/``COMPLAIN`` opens a thread, and what
the citizen sends after it joins the thread.

Contract: :func:`answer` is the dialogue's part of answering a stored inbound SMS; it returns
the action when it answered (and queued the one reply, :func:`gateway.sms.inbound.reply_to`),
None when the SMS is not a question's (the keyword grammar answers it). In order:

1. An SMS that starts with a reference of one of the number's threads joins that thread,
   at any time (closed threads reopen: the citizen still waits).
2. Within 3 days of a staff answer (:data:`gateway.dialogue.questions.WINDOW`), any SMS from
   the number joins the thread answered last — the keyword grammar does not apply, except
   one exact stop word alone (``STOP``, ``YEKA``…: :func:`menus.keywords.is_thread_stop`),
   which is left to it and opts out. Why: the grammar reads "Cancel my complaint" as STOP
   (CANCEL) and "There is no one" as WHERE (one typo), and a citizen answering staff must
   be heard, not opted out of everything.
3. ``ASK``/``COMPLAIN`` (and translations) open a thread (:func:`ask`): the reply gives the
   reference, the centre and the promise — or, past ``QUESTIONS_OPEN_PER_NUMBER``, the
   references still waiting.

:func:`ask` is also what the USSD "Ask a question" item calls (``via="ussd"``), with the
acknowledgement queued as an SMS keyed by the session (a retried hop sends it once).
"""

from __future__ import annotations

from datetime import datetime

from gateway.dialogue import questions, references
from gateway.dialogue.questions import Opened
from gateway.runtime import Runtime
from gateway.sms import consent
from gateway.sms.inbound import reply_to
from gateway.sms.outbox import queue_sms
from gateway.store.models import Message
from menus.keywords import is_thread_stop, parse
from menus.questions import ack_sms, added_sms, ask_help, split_place, waiting_sms

KIND_OF = {"ask": "ask", "complain": "complain"}  # keyword action -> question kind


def answer(rt: Runtime, row: Message) -> str | None:
    """Answer ``row`` if it is a question's (see the module's contract); None otherwise."""
    now = rt.clock.now()
    ref = references.read(row.text)
    if ref is not None and questions.ref_of(rt, row.phone, ref):
        return _follow_up(rt, row, ref, now)
    ref = questions.in_window(rt, row.phone, now)
    if ref is not None and not is_thread_stop(row.text):
        return _follow_up(rt, row, ref, now)
    command = parse(row.text)
    if command.action not in KIND_OF:
        return None
    lang = command.language if command.language and command.language != "en" else consent.language_of(rt, row.phone)
    text = _after_keyword(row.text)
    if not text:
        reply_to(rt, row, ask_help(lang))
        return "ask-help"
    opened = ask(rt, row.phone, KIND_OF[command.action], text, lang, "sms", message_id=row.id, now=now)
    reply_to(rt, row, acknowledgement(opened, lang))
    return command.action if opened.thread else "ask-waiting"


def _follow_up(rt: Runtime, row: Message, ref: str, now: datetime) -> str:
    thread = questions.add_citizen_message(rt, ref, row.text.strip(), message_id=row.id, now=now)
    reply_to(rt, row, added_sms(thread.language, ref))
    return "question-follow-up"


def _after_keyword(text: str) -> str:
    """The question: the SMS without its first word (the keyword), whole (no 160 cap)."""
    parts = (text or "").strip().split(None, 1)
    return parts[1].strip() if len(parts) == 2 else ""


def ask(rt: Runtime, phone: str, kind: str, text: str, lang: str, via: str, *,
        message_id: int | None = None, now: datetime | None = None) -> Opened:
    """Open a question from ``text`` (``"Soweto: where…"`` names a place for the routing)."""
    place, question = split_place(text)
    return questions.open_thread(rt, phone, kind, text if place else question, lang, via, place=place,
                                 message_id=message_id, now=now)


def acknowledgement(opened: Opened, lang: str) -> str:
    """The SMS a citizen gets at once: reference, centre and promise, or what still waits."""
    if opened.thread is None:
        return waiting_sms(lang, opened.waiting)
    t = opened.thread
    return ack_sms(lang, t.kind, t.ref, t.centre_name)


def ask_by_ussd(rt: Runtime, phone: str, text: str, lang: str, session_id: str) -> Opened:
    """The USSD "Ask a question" item: open the thread and queue its acknowledgement by SMS."""
    opened = ask(rt, phone, "ask", text, lang, "ussd")
    if opened.thread is not None:
        queue_sms(rt, phone, acknowledgement(opened, lang), key=f"ussd-ask:{session_id}:{opened.thread.ref}")
    return opened
