"""What citizens are told about their questions, in every language: the acknowledgement (the
reference, the centre or "the Thusong team", the promise), the list of what still waits, the
follow-up confirmation and the help keep the two-segment reply budget, with the longest real
centre name and the longest references; a staff answer starts with the reference and ends with
how to stop messages."""

from __future__ import annotations

import pytest

from menus.catalogue import LANGUAGES, Catalogues
from menus.questions import (
    REPLY_SEGMENTS,
    ack_sms,
    added_sms,
    answer_sms,
    ask_help,
    split_place,
    waiting_sms,
)
from menus.segments import measure
from tests.conftest import SEED

CATS = Catalogues.load()
LONGEST = max((line.split(",")[0] for line in SEED.read_text(encoding="utf-8").splitlines()[1:]), key=len)
REFS = ("Q2345678", "Q3456789", "Q4567892")  # longer than today's: the space grows


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", ["ask", "complain"])
@pytest.mark.parametrize("centre", [LONGEST, None], ids=["longest centre", "unassigned"])
def test_the_acknowledgement_fits_and_says_reference_centre_and_promise(lang, kind, centre):
    text = ack_sms(lang, kind, REFS[0], centre)
    assert measure(text).segments <= REPLY_SEGMENTS, (lang, text)
    assert REFS[0] in text and "2" in text and "{" not in text
    if centre is None:
        assert CATS.text(lang, "sms.question_team") in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_other_replies_fit(lang):
    for text in (waiting_sms(lang, REFS), added_sms(lang, REFS[0]), ask_help(lang)):
        assert measure(text).segments <= REPLY_SEGMENTS and "{" not in text, (lang, text)
    assert all(ref in waiting_sms(lang, REFS) for ref in REFS)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_its_own_question_texts(lang):
    """Drafts are fine, but present: none falls back to English silently."""
    keys = ("sms.question_ack", "sms.complaint_ack", "sms.question_team", "sms.question_waiting",
            "sms.question_added", "sms.question_help", "main.ask", "ask.prompt", "ask.hint", "ask.done",
            "ask.waiting")
    assert [k for k in keys if k not in CATS.by_code[lang].strings] == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_answer_starts_with_the_reference_and_ends_with_how_to_stop(lang):
    text = answer_sms(lang, "Q2345", "Bring your ID")
    assert text == f"Q2345: Bring your ID. {CATS.text(lang, 'sms.optout_line')}"


PLACES = [
    ("a place before a colon", "Soweto: where do I renew my ID?", ("Soweto", "where do I renew my ID?")),
    ("two words", "Mitchells Plain: SASSA?", ("Mitchells Plain", "SASSA?")),
    ("no colon", "where do I renew my ID", (None, "where do I renew my ID")),
    ("a sentence before the colon", "I went there twice and they said: come back", (None, "I went there twice and they said: come back")),
    ("nothing after the colon", "Soweto:", (None, "Soweto:")),
]


@pytest.mark.parametrize("text, parts", [r[1:] for r in PLACES], ids=[r[0] for r in PLACES])
def test_split_place(text, parts):
    assert split_place(text) == parts
