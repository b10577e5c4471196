"""Citizens' questions and complaints: references (format, uniqueness, collisions), routing
order, the open-thread limit, the 3-day window after a staff answer (exact STOP alone still
opts out; "Cancel my complaint" joins), reference-prefixed follow-ups, staff scope, the
working-hours age and the overdue flag — with injected times (``FrozenClock``)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.clock import FrozenClock
from gateway.dialogue import questions, references
from gateway.dialogue.inbound import answer as dialogue_answer
from gateway.dialogue.questions import QuestionError
from gateway.sms import consent, inbound
from gateway.staff import audit
from gateway.staff import questions as staff
from gateway.staff.accounts import StaffError, add_staff, get_member, set_active
from gateway.staff.questions import QuestionNotFound
from gateway.store.models import AuditEvent, Citizen, Message, Question, insert_message
from gateway.usage import retention, rollup
from tests.conftest import PASSWORD

MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 10:00 SAST
PHONE, OTHER = "+27821234567", "+27831112222"
_ids = itertools.count(1)


def at(rt, when: datetime):
    """``rt`` whose clock stands at ``when`` (what the inbound answer reads as now)."""
    return dataclasses.replace(rt, clock=FrozenClock(when))


def texted(rt, body: str, phone: str = PHONE) -> tuple[str, str | None]:
    """Store an inbound SMS and answer it as the workers do: (the action, the reply's text)."""
    mid = insert_message(rt.engine, direction="in", idempotency_key=f"at-in:q{next(_ids)}", phone=phone,
                         text=body, status="received")
    action = inbound.process(rt, mid, answer=dialogue_answer)
    with rt.sessions() as s:
        return action, s.scalar(select(Message.text).where(Message.idempotency_key == f"reply:{mid}"))


def ref_in(reply: str) -> str:
    return re.search(r"\bQ[2-9]{4,}\b", reply).group(0)


def centre_near(rt, place: str) -> int:
    return rt.directory.nearest(place, 1).centres[0].centre.id


def opted_out(rt, phone: str = PHONE) -> bool:
    with rt.sessions() as s:
        return bool(s.scalar(select(Citizen.opted_out).where(Citizen.phone == phone)))


# --- references ------------------------------------------------------------------------------

READS = [
    ("plain", "Q2345 thanks", "Q2345"),
    ("lower case, a space", "q 2345 more", "Q2345"),
    ("a colon after", "Q23456: and", "Q23456"),
    ("leading spaces", "  Q9876", "Q9876"),
    ("1 is never a digit of one", "Q1234 hi", None),
    ("0 neither", "Q2340", None),
    ("three digits is too short", "Q234 hi", None),
    ("a word", "Question about ID", None),
    ("letters glued on", "Q2345abc", None),
    ("not at the start", "about Q2345", None),
]


@pytest.mark.parametrize("text, ref", [r[1:] for r in READS], ids=[r[0] for r in READS])
def test_reading_a_reference_at_the_start_of_an_sms(text, ref):
    assert references.read(text) == ref


def test_a_new_reference_is_q_and_four_digits_2_to_9():
    drawn = {references.new_reference(4) for _ in range(200)}
    assert all(re.fullmatch(r"Q[2-9]{4}", r) for r in drawn)
    assert len(drawn) > 150  # random, not a counter


class Script:
    """A random source that draws the digits it is given (collisions on purpose)."""

    def __init__(self, digits: str):
        self.digits = iter(digits)

    def choice(self, _seq):
        return next(self.digits)


def _question(ref: str) -> Question:
    return Question(ref=ref, phone=PHONE, kind="ask", language="en", via="sms", status="open",
                    created_at=MONDAY, updated_at=MONDAY)


def test_the_database_refuses_a_second_question_with_the_same_reference(rt):
    with rt.sessions.begin() as s:
        s.add(_question("Q2222"))
    with pytest.raises(IntegrityError), rt.sessions.begin() as s:
        s.add(_question("Q2222"))


def test_a_colliding_reference_is_drawn_again(rt):
    with rt.sessions.begin() as s:
        s.add(_question("Q2222"))
    with rt.sessions.begin() as s:
        row = references.insert_with_reference(s, _question, Script("2222" + "3456"))
        assert row.ref == "Q3456"
    with rt.sessions() as s:
        assert sorted(s.scalars(select(Question.ref))) == ["Q2222", "Q3456"]


def test_a_length_whose_draws_keep_colliding_grows_by_one_digit(rt):
    with rt.sessions.begin() as s:
        s.add(_question("Q2222"))
    with rt.sessions.begin() as s:
        row = references.insert_with_reference(s, _question, Script("2222" * references.TRIES + "22222"))
        assert row.ref == "Q22222"


# --- asking, routing, the limit --------------------------------------------------------------

def test_ask_gets_a_reference_the_centre_and_the_promise(seeded):
    rt = at(seeded, MONDAY)
    action, reply = texted(rt, "ASK Soweto: where do I renew my ID?")
    assert action == "ask"
    ref = ref_in(reply)
    assert reply == (f"Ref {ref}: your question went to Maponya Mall Thusong. Expect an answer by SMS "
                     "within 2 working days.")
    thread = staff.read(rt, audit.CLI, ref)
    assert thread.centre_id == centre_near(rt, "Soweto") and thread.kind == "ask" and thread.via == "sms"
    assert [e.text for e in thread.entries] == ["Soweto: where do I renew my ID?"]
    assert thread.due_at == datetime(2026, 3, 4, 8, 0, tzinfo=UTC)  # Wednesday 10:00 SAST


@pytest.mark.parametrize("text, kind, lang", [
    ("COMPLAIN the queue was 5 hours", "complain", "en"), ("KLAGTE die tou was lank", "complain", "af"),
    ("VRA waar is die kantoor", "ask", "af"), ("BUZA ngifuna i-ID", "ask", "en"),
    ("KHALAZA ulayini mude", "complain", "en"),
])
def test_translations_open_questions_and_complaints(seeded, text, kind, lang):
    action, reply = texted(at(seeded, MONDAY), text)
    assert action == kind
    thread = staff.read(seeded, audit.CLI, ref_in(reply))
    assert thread.kind == kind and thread.language == lang


def test_ask_without_a_question_is_told_how(seeded):
    action, reply = texted(at(seeded, MONDAY), "ASK")
    assert action == "ask-help" and reply.startswith("To ask, text ASK and your question")
    assert staff.inbox(seeded, audit.CLI) == []


def test_routing_the_latest_subscription_then_the_named_place_then_unassigned(seeded):
    rt = at(seeded, MONDAY)
    kagiso, mthatha = centre_near(rt, "Kagiso"), centre_near(rt, "Mthatha")
    assert questions.route(rt, PHONE, None) is None  # nothing known: the unassigned queue
    assert questions.route(rt, PHONE, "Mthatha") == mthatha  # a named place
    assert questions.route(rt, PHONE, "Xyzzyville") is None  # a place we cannot find
    consent.subscribe(rt, PHONE, mthatha, "en")
    consent.subscribe(rt, PHONE, kagiso, "en")  # the most recent subscription wins ...
    assert questions.route(rt, PHONE, "Mthatha") == kagiso  # ... over a named place
    consent.unsubscribe(rt, PHONE, kagiso)
    assert questions.route(rt, PHONE, None) == mthatha  # an ended one does not count
    _action, reply = texted(rt, "ASK nobody knows me", phone=OTHER)
    assert "went to the Thusong team" in reply


def test_past_the_open_limit_the_citizen_is_told_what_waits(seeded):
    rt = at(seeded, MONDAY)
    refs = [ref_in(texted(rt, f"ASK question {n}")[1]) for n in range(3)]
    action, reply = texted(rt, "COMPLAIN one more")
    assert action == "ask-waiting"
    assert reply.startswith(f"You have questions waiting: {', '.join(refs)}.")
    assert len(staff.inbox(rt, audit.CLI)) == 3
    staff.close(rt, audit.CLI, refs[0], "answered by phone")
    assert texted(rt, "COMPLAIN one more")[0] == "complain"  # a closed one frees a place


def test_the_limit_is_per_number_and_a_setting(seeded):
    rt = dataclasses.replace(at(seeded, MONDAY), settings=seeded.settings.with_(QUESTIONS_OPEN_PER_NUMBER=1))
    assert texted(rt, "ASK first")[0] == "ask"
    assert texted(rt, "ASK second")[0] == "ask-waiting"
    assert texted(rt, "ASK mine", phone=OTHER)[0] == "ask"


# --- the thread window ------------------------------------------------------------------------

def answered(seeded, text: str = "ASK Soweto: when is SASSA here?") -> str:
    """A question asked Monday 10:00 SAST and answered by staff at 11:00; its reference."""
    ref = ref_in(texted(at(seeded, MONDAY), text)[1])
    staff.reply(seeded, audit.CLI, ref, "SASSA comes on Tuesdays.", now=MONDAY + timedelta(hours=1))
    return ref


def entries(rt, ref: str) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in staff.read(rt, audit.CLI, ref).entries]


def test_cancel_my_complaint_within_the_window_joins_the_thread_and_opts_nobody_out(seeded):
    ref = answered(seeded)
    later = at(seeded, MONDAY + timedelta(days=3))  # 3 days less an hour after the answer
    for text in ("Cancel my complaint", "END", "There is no one here", "Quit"):
        action, reply = texted(later, text)
        assert action == "question-follow-up", text
        assert reply == f"Thank you. Your message was added to {ref}."
    assert not opted_out(seeded)
    assert entries(seeded, ref)[-4:] == [("citizen", "Cancel my complaint"), ("citizen", "END"),
                                         ("citizen", "There is no one here"), ("citizen", "Quit")]
    assert staff.read(seeded, audit.CLI, ref).waiting_since is not None  # waits for staff again


def test_on_day_four_the_keywords_apply_again(seeded):
    ref = answered(seeded)
    day4 = at(seeded, MONDAY + timedelta(days=3, hours=1, minutes=1))
    action, reply = texted(day4, "CENTRE Soweto")
    assert action == "nearest" and reply.startswith("Nearest Thusong to Soweto:")
    assert texted(day4, "Cancel my complaint")[0] == "stop"  # the grammar's reading, as before
    assert len(entries(seeded, ref)) == 2  # the question and the answer only


@pytest.mark.parametrize("text", ["STOP", "stop", "Stop.", "YEKA", "staak!"])
def test_an_exact_stop_word_alone_inside_the_window_still_opts_out(seeded, text):
    ref = answered(seeded)
    action, reply = texted(at(seeded, MONDAY + timedelta(days=1)), text)
    assert action == "stop" and opted_out(seeded)
    assert len(entries(seeded, ref)) == 2


def test_stop_with_more_words_inside_the_window_joins_the_thread(seeded):
    ref = answered(seeded)
    assert texted(at(seeded, MONDAY + timedelta(days=1)), "Stop sending me to Kagiso")[0] == "question-follow-up"
    assert not opted_out(seeded)
    assert entries(seeded, ref)[-1] == ("citizen", "Stop sending me to Kagiso")


def test_a_reply_starting_with_the_reference_joins_even_outside_the_window_and_reopens(seeded):
    ref = ref_in(texted(at(seeded, MONDAY), "COMPLAIN no forms at Home Affairs")[1])
    staff.close(seeded, audit.CLI, ref, "forms delivered", now=MONDAY + timedelta(hours=2))
    action, reply = texted(at(seeded, MONDAY + timedelta(days=20)), f"{ref.lower()} still no forms")
    assert action == "question-follow-up" and reply == f"Thank you. Your message was added to {ref}."
    thread = staff.read(seeded, audit.CLI, ref)
    assert thread.status == "open" and thread.entries[-1].text == f"{ref.lower()} still no forms"


def test_another_numbers_reference_joins_nothing(seeded):
    ref = ref_in(texted(at(seeded, MONDAY), "ASK mine")[1])
    action, _reply = texted(at(seeded, MONDAY), f"{ref} let me in", phone=OTHER)
    assert action == "unknown"
    assert len(entries(seeded, ref)) == 1


def test_the_window_is_the_numbers_own(seeded):
    answered(seeded)
    assert texted(at(seeded, MONDAY + timedelta(hours=2)), "CENTRE Soweto", phone=OTHER)[0] == "nearest"


# --- staff: reply, scope, age, overdue --------------------------------------------------------

def test_a_staff_answer_is_queued_with_the_reference_and_how_to_stop_and_audited(seeded):
    ref = answered(seeded)
    with seeded.sessions() as s:
        sms = s.scalars(select(Message).where(Message.direction == "out", Message.idempotency_key.like("q-answer:%"))).one()
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "question.replied")).one()
    assert sms.text == f"{ref}: SASSA comes on Tuesdays. Reply STOP to opt out"
    assert sms.phone == PHONE and sms.queue == "replies" and sms.status == "queued"
    assert (event.actor, event.target) == ("cli", f"question {ref}")
    assert PHONE not in (event.detail or "") and "SASSA" not in (event.detail or "")
    assert json.loads(event.detail) == {"closed": False, "segments": 1}
    thread = staff.read(seeded, audit.CLI, ref)
    assert thread.answered_at == MONDAY + timedelta(hours=1) and thread.waiting_since is None


def test_an_answer_longer_than_three_sms_or_empty_is_refused(seeded):
    ref = ref_in(texted(at(seeded, MONDAY), "ASK something")[1])
    with pytest.raises(QuestionError, match="longer than 3 SMS"):
        staff.reply(seeded, audit.CLI, ref, "word " * 100)
    with pytest.raises(QuestionError, match="empty"):
        staff.reply(seeded, audit.CLI, ref, "   ")
    assert len(entries(seeded, ref)) == 1


def test_the_preview_is_the_sms_as_sent_with_segments_and_cost(seeded):
    ref = ref_in(texted(at(seeded, MONDAY), "ASK something")[1])
    p = staff.preview(seeded, audit.CLI, ref, "Bring your ID")
    assert p.text == f"{ref}: Bring your ID. Reply STOP to opt out"
    assert (p.segments, p.recipients, p.encoding) == (1, 1, "GSM-7")


@pytest.fixture
def two_centres(seeded):
    """A question at the centre near Soweto, one near Mthatha, one unassigned; a clerk of the
    Soweto one, an admin. Returns (clerk, admin, soweto ref, mthatha ref, unassigned ref)."""
    rt = at(seeded, MONDAY)
    soweto, mthatha = centre_near(rt, "Soweto"), centre_near(rt, "Mthatha")
    refs = [ref_in(texted(rt, text, phone=phone)[1]) for text, phone in (
        ("ASK Soweto: a", PHONE), ("ASK Mthatha: b", OTHER), ("ASK c", "+27841112233"))]
    clerk = add_staff(seeded.sessions, "clerk@example.org", "Clerk", "clerk", PASSWORD, [soweto])
    admin = add_staff(seeded.sessions, "admin@example.org", "Admin", "admin", PASSWORD, [])
    assert staff.read(seeded, admin, refs[1]).centre_id == mthatha
    return clerk, admin, *refs


def test_a_clerk_sees_and_acts_on_their_centres_threads_only(seeded, two_centres):
    clerk, _admin, mine, theirs, unassigned = two_centres
    assert [t.ref for t in staff.inbox(seeded, clerk)] == [mine]
    for ref in (theirs, unassigned):
        for act in (lambda r: staff.read(seeded, clerk, r), lambda r: staff.reply(seeded, clerk, r, "hi"),
                    lambda r: staff.note(seeded, clerk, r, "n"), lambda r: staff.close(seeded, clerk, r),
                    lambda r: staff.transfer(seeded, clerk, r, centre_near(seeded, "Soweto")),
                    lambda r: staff.preview(seeded, clerk, r, "hi")):
            with pytest.raises(QuestionNotFound, match=f"no question {ref}"):
                act(ref)
    with pytest.raises(StaffError, match="not one of yours"):
        staff.inbox(seeded, clerk, centre_id=centre_near(seeded, "Mthatha"))
    assert len(entries(seeded, theirs)) == 1
    staff.reply(seeded, clerk, mine, "Yes.")
    staff.note(seeded, clerk, mine, "Called back")
    assert [(k, t) for k, t in entries(seeded, mine)][1:] == [("answer", "Yes."), ("note", "Called back")]
    assert staff.read(seeded, clerk, mine).entries[1].staff_name == "Clerk"


def test_an_admin_sees_every_centre_and_the_unassigned_and_routes_them(seeded, two_centres):
    clerk, admin, mine, theirs, unassigned = two_centres
    assert [t.ref for t in staff.inbox(seeded, admin)] == [mine, theirs, unassigned]
    staff.transfer(seeded, admin, unassigned, centre_near(seeded, "Soweto"))
    assert [t.ref for t in staff.inbox(seeded, clerk)] == [mine, unassigned]
    staff.transfer(seeded, clerk, mine, centre_near(seeded, "Mthatha"))  # a clerk passes one on
    assert [t.ref for t in staff.inbox(seeded, clerk)] == [unassigned]
    with seeded.sessions() as s:
        moves = s.scalars(select(AuditEvent.detail).where(AuditEvent.action == "question.transferred")).all()
    assert len(moves) == 2


def test_a_disabled_account_is_refused(seeded, two_centres):
    clerk, _admin, mine, _theirs, _unassigned = two_centres
    set_active(seeded.sessions, clerk.email, False)
    with pytest.raises(StaffError, match="disabled"):
        staff.inbox(seeded, get_member(seeded.sessions, clerk.id))


def test_age_in_working_hours_and_overdue_after_two_working_days(seeded):
    thursday = datetime(2026, 4, 2, 8, 0, tzinfo=UTC)  # 10:00 SAST, before Good Friday
    ref = ref_in(texted(at(seeded, thursday), "ASK when does SASSA come?")[1])
    due = datetime(2026, 4, 8, 8, 0, tzinfo=UTC)  # Wednesday 10:00: Friday and Monday are holidays
    before, after = staff.read(seeded, audit.CLI, ref, now=due - timedelta(minutes=1)), \
        staff.read(seeded, audit.CLI, ref, now=due + timedelta(minutes=1))
    assert before.due_at == due and not before.overdue and after.overdue
    assert staff.read(seeded, audit.CLI, ref, now=datetime(2026, 4, 6, 8, 0, tzinfo=UTC)).age_hours == 6.5
    assert [t.ref for t in staff.inbox(seeded, audit.CLI, state="overdue", now=due + timedelta(minutes=1))] == [ref]
    assert staff.inbox(seeded, audit.CLI, state="overdue", now=due - timedelta(minutes=1)) == []
    staff.reply(seeded, audit.CLI, ref, "Tuesdays.", now=due + timedelta(hours=1))  # answered: not overdue
    assert staff.inbox(seeded, audit.CLI, state="overdue", now=due + timedelta(days=9)) == []


def test_closing_takes_the_thread_off_the_open_list(seeded):
    ref = ref_in(texted(at(seeded, MONDAY), "ASK x y z")[1])
    staff.close(seeded, audit.CLI, ref, "Referred to SASSA")
    assert staff.inbox(seeded, audit.CLI) == []
    assert [(t.ref, t.status, t.outcome) for t in staff.inbox(seeded, audit.CLI, state="all")] == \
        [(ref, "closed", "Referred to SASSA")]
    with pytest.raises(QuestionError, match="closed already"):
        staff.close(seeded, audit.CLI, ref)


# --- POPIA: retention ------------------------------------------------------------------------

def test_retention_empties_question_texts_and_outcomes_like_sms_bodies(seeded):
    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    rt = dataclasses.replace(seeded, clock=FrozenClock(now), settings=seeded.settings.with_(RETENTION_DAYS=30))
    old = ref_in(texted(at(rt, now - timedelta(days=45)), "ASK an old question")[1])
    staff.close(rt, audit.CLI, old, "an old outcome", now=now - timedelta(days=44))
    new = ref_in(texted(at(rt, now - timedelta(days=3)), "ASK a new question")[1])
    rollup.roll_up(rt)
    retention.apply(rt)
    assert entries(rt, old) == [("citizen", "")] and staff.read(rt, audit.CLI, old).outcome is None
    assert entries(rt, new) == [("citizen", "a new question")]
    assert questions.counts(rt, now) == {"open": 1, "closed": 1, "overdue": 1}
