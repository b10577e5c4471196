"""What a citizen is told about their question or complaint, in their language (pure).

Contract: :func:`ack_sms` confirms a new question at once — its reference, the centre it went
to (or "the Thusong team" when unassigned) and the promise (an answer within 2 working days);
:func:`waiting_sms` answers a number past its open-question limit with the references still
waiting; :func:`added_sms` confirms a follow-up joined a thread; :func:`ask_help` answers an
``ASK`` with no question. All keep :data:`REPLY_SEGMENTS`. :func:`answer_sms` is a staff
answer as sent: the reference first, staff's words, then how to stop messages
(``sms.optout_line``); the staff side refuses one over :data:`ANSWER_SEGMENTS`.
:func:`split_place` reads ``ASK Soweto: where do I…`` into the place and the question.
"""

from __future__ import annotations

from menus.catalogue import Catalogues
from menus.render import short_centre_name
from menus.segments import measure

REPLY_SEGMENTS = 2  # as every keyword reply (menus.keywords)
ANSWER_SEGMENTS = 3  # a staff answer, reference and opt-out line included
PLACE_WORDS = 4  # "ASK <place>: …": a place is a few words before the colon
SENTENCE_ENDS = tuple('.!?…:;)"\'')


def _cats() -> Catalogues:
    return Catalogues.load()


def _centre(lang: str, centre_name: str | None) -> str:
    return short_centre_name(centre_name) if centre_name else _cats().text(lang, "sms.question_team")


def ack_sms(lang: str, kind: str, ref: str, centre_name: str | None) -> str:
    """'Ref Q2345: your question went to Maponya Mall Thusong. Expect an answer within 2
    working days.' (``kind`` "complain": "your complaint")."""
    key = "sms.complaint_ack" if kind == "complain" else "sms.question_ack"
    text = _cats().text(lang, key, ref=ref, centre=_centre(lang, centre_name))
    if measure(text).segments > REPLY_SEGMENTS and centre_name:
        text = _cats().text(lang, key, ref=ref, centre=short_centre_name(centre_name)[:40])
    return text


def waiting_sms(lang: str, refs: list[str] | tuple[str, ...]) -> str:
    return _cats().text(lang, "sms.question_waiting", refs=", ".join(refs))


def added_sms(lang: str, ref: str) -> str:
    return _cats().text(lang, "sms.question_added", ref=ref)


def ask_help(lang: str) -> str:
    return _cats().text(lang, "sms.question_help")


def answer_sms(lang: str, ref: str, text: str) -> str:
    """'Q2345: <staff's words>. Reply STOP to opt out' (the last sentence closed)."""
    body = " ".join(text.split())
    if body and not body.endswith(SENTENCE_ENDS):
        body += "."
    return f"{ref}: {body} {_cats().text(lang, 'sms.optout_line')}"


def split_place(argument: str) -> tuple[str | None, str]:
    """(the place before a colon, the question) — ``"Soweto: where…"`` → ``("Soweto",
    "where…")``; no colon, or more than :data:`PLACE_WORDS` words before it: no place."""
    head, colon, rest = argument.partition(":")
    if colon and head.strip() and len(head.split()) <= PLACE_WORDS and rest.strip():
        return head.strip(), rest.strip()
    return None, argument.strip()
