"""The staff inbox: open threads of the account's centres oldest first with their age in
working hours (weekends and public holidays excluded) and overdue ones marked; a thread read
with the number masked, answered after a preview (the SMS queued with the reference), noted,
closed with an outcome, transferred or routed. A clerk never reaches another centre's thread
(404, nothing changes); an answer on a thread closed meanwhile is refused and nothing is sent.
Times are injected."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from gateway.clock import SAST, FrozenClock
from gateway.dialogue import questions as records
from gateway.staff import audit
from gateway.staff import inbox as staff_inbox
from gateway.staff import questions as staff_questions
from gateway.store.models import Centre, Message, Question, QuestionEntry
from gateway.web.staff.refusals import STALE

PHONE, OTHER_PHONE = "+27821234567", "+27831112222"


def sast(*args) -> datetime:
    """A South African time as UTC: SQLite keeps a stored time's digits, not its zone."""
    return datetime(*args, tzinfo=SAST).astimezone(UTC)


THURSDAY = sast(2026, 4, 2, 16, 0)  # Good Friday and Family Day follow
NOW = sast(2026, 4, 7, 9, 0)  # Tuesday 09:00: 1.5 working hours after THURSDAY


def page_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def inbox(seeded, monkeypatch):
    """Two centres (mine, other) and the clock at NOW."""
    with seeded.sessions() as s:
        mine, other = s.scalars(select(Centre.id).order_by(Centre.id).limit(2))
    monkeypatch.setattr(seeded, "clock", FrozenClock(NOW))
    return mine, other


def ask(rt, centre_id: int | None, at: datetime, text: str = "Where do I renew my ID?", phone: str = PHONE) -> str:
    ref = records.open_thread(rt, phone, "ask", text, "en", "sms", now=at).thread.ref
    if centre_id is not None:
        staff_questions.transfer(rt, audit.CLI, ref, centre_id, now=at)
    return ref


def seen_of(page: str) -> str:
    return re.search(r'name="seen"[^>]*value="([^"]+)"', page).group(1)


def state_of(rt, ref: str) -> tuple:
    """What a refused action must leave as it was: the thread, its entries, the outbox."""
    with rt.sessions() as s:
        q = s.scalar(select(Question).where(Question.ref == ref))
        entries = s.scalar(select(func.count()).select_from(QuestionEntry).where(QuestionEntry.question_id == q.id))
        sent = s.scalar(select(func.count()).select_from(Message).where(Message.direction == "out"))
    return q.status, q.centre_id, q.outcome, entries, sent


def test_a_clerk_sees_their_centres_open_threads_oldest_first_aged_in_working_hours(seeded, inbox, auth, client):
    mine, other = inbox
    old = ask(seeded, mine, THURSDAY)
    new = ask(seeded, mine, sast(2026, 4, 7, 8, 30), phone=OTHER_PHONE)
    theirs = ask(seeded, other, THURSDAY, phone="+27841112222")
    nobody = ask(seeded, None, THURSDAY, phone="+27851112222")
    auth.as_role("clerk", [mine])
    page = page_of(client.get("/staff/inbox"))
    listed = re.findall(r'data-testid="thread-(Q\d+)"', page)
    assert listed == [old, new]
    assert f'data-testid="age-{old}">1.5 working h<' in page  # Thursday 16:00 → Tuesday 09:00, over Easter
    assert f'data-testid="age-{new}">0.5 working h<' in page
    assert theirs not in page and nobody not in page
    overdue_page = page_of(client.get("/staff/inbox?state=overdue"))
    assert re.findall(r'data-testid="thread-(Q\d+)"', overdue_page) == []  # due Wednesday 16:00: 2 working days
    home = page_of(client.get("/staff/"))
    assert 'data-testid="inbox-open">2<' in home and "inbox-overdue" not in home


def test_admins_see_every_centre_the_unassigned_and_the_overdue_list(seeded, inbox, auth, client, monkeypatch):
    mine, other = inbox
    old = ask(seeded, mine, THURSDAY)
    theirs = ask(seeded, other, sast(2026, 4, 7, 8, 30), phone=OTHER_PHONE)
    nobody = ask(seeded, None, THURSDAY, phone="+27851112222")
    monkeypatch.setattr(seeded, "clock", FrozenClock(sast(2026, 4, 8, 16, 15)))  # due Wednesday 16:00; theirs Thursday 08:30
    auth.as_role("admin")
    page = page_of(client.get("/staff/inbox"))
    assert re.findall(r'data-testid="thread-(Q\d+)"', page) == [old, nobody, theirs]
    assert "Unassigned" in page
    overdue = page_of(client.get("/staff/inbox?state=overdue"))
    assert re.findall(r'data-testid="thread-(Q\d+)"', overdue) == [old, nobody]
    assert f'data-testid="overdue-{old}"' in overdue
    home = page_of(client.get("/staff/"))
    assert 'data-testid="inbox-open">3<' in home and 'data-testid="inbox-overdue">2 overdue<' in home


def test_a_clerk_cannot_open_or_act_on_another_centres_thread(seeded, inbox, auth, client):
    mine, other = inbox
    theirs = ask(seeded, other, THURSDAY)
    nobody = ask(seeded, None, THURSDAY, phone=OTHER_PHONE)
    auth.as_role("clerk", [mine])
    before = state_of(seeded, theirs)
    assert client.get(f"/staff/inbox/{theirs}").status_code == 404
    assert client.get(f"/staff/inbox/{nobody}").status_code == 404
    assert auth.post(f"/staff/inbox/{theirs}/preview", {"answer": "Bring your ID"}).status_code == 404
    for data in ({"do": "send", "answer": "Bring your ID", "seen": "x" * 32}, {"do": "note", "note": "seen it"},
                 {"do": "close", "outcome": "Answered", "seen": "x" * 32}, {"do": "transfer", "centre": mine}):
        assert auth.post(f"/staff/inbox/{theirs}", data).status_code == 404, data
    assert state_of(seeded, theirs) == before
    assert audit.events(seeded.sessions, "question.replied").total == 0
    assert audit.events(seeded.sessions, "question.noted").total == 0
    assert audit.events(seeded.sessions, "question.transferred").total == 1  # the test's own routing
    assert client.get("/staff/inbox/Q1").status_code == 404  # not a reference


def test_preview_then_answer_queues_the_sms_with_the_reference(seeded, inbox, auth, client):
    mine, _other = inbox
    ref = ask(seeded, mine, THURSDAY, text=f"My number is {PHONE}, where do I renew my ID?")
    clerk = auth.as_role("clerk", [mine])
    page = page_of(client.get(f"/staff/inbox/{ref}"))
    assert PHONE not in page and "+2782****567" in page  # masked, in the header and in the message
    assert "Where do I renew my ID?".lower() in page.lower()
    typed = "Bring your old ID and a photo to the Home Affairs desk."
    shown = page_of(auth.post(f"/staff/inbox/{ref}", {"do": "preview", "answer": typed, "seen": seen_of(page)}))
    assert 'data-testid="preview"' in shown and f"{ref}" in shown and typed in shown
    segments = int(re.search(r'data-testid="segments">(\d+)', shown).group(1))
    assert segments == 1 and 'data-testid="cost">R0.' in shown
    fragment = page_of(auth.post(f"/staff/inbox/{ref}/preview", {"answer": typed}))
    assert 'data-testid="segments">1' in fragment
    with seeded.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message).where(Message.direction == "out")) == 0
    sent = auth.post(f"/staff/inbox/{ref}", {"do": "send", "answer": typed, "seen": seen_of(shown)})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/staff/inbox/{ref}")
    with seeded.sessions() as s:
        sms = s.scalars(select(Message).where(Message.direction == "out")).one()
    assert (sms.phone, sms.status, sms.queue) == (PHONE, "queued", "replies")
    assert sms.text.startswith(ref) or ref in sms.text.split(":")[0]
    assert typed in sms.text
    replied = audit.events(seeded.sessions, "question.replied").events
    assert [(e.staff_id, e.target) for e in replied] == [(clerk.id, f"question {ref}")]
    after = page_of(client.get(sent.headers["Location"]))
    assert "on its way" in after and 'data-testid="entry-answer"' in after


def test_an_answer_posted_on_a_thread_closed_meanwhile_is_refused(seeded, inbox, auth, client):
    mine, _other = inbox
    ref = ask(seeded, mine, THURSDAY)
    auth.as_role("clerk", [mine])
    page = page_of(client.get(f"/staff/inbox/{ref}"))
    staff_questions.close(seeded, audit.CLI, ref, "Resolved")  # a colleague, meanwhile
    before = state_of(seeded, ref)
    typed = "Bring your old ID."
    refused = auth.post(f"/staff/inbox/{ref}", {"do": "send", "answer": typed, "seen": seen_of(page)})
    shown = page_of(refused)
    assert refused.status_code == 200
    assert f"{ref} was closed meanwhile, so your answer was not sent" in shown
    assert typed in shown  # kept, to send on purpose after reading
    assert state_of(seeded, ref) == before
    assert audit.events(seeded.sessions, "question.replied").total == 0


def test_an_answer_after_a_colleagues_answer_is_refused_until_read(seeded, inbox, auth, client):
    mine, _other = inbox
    ref = ask(seeded, mine, THURSDAY)
    auth.as_role("clerk", [mine])
    page = page_of(client.get(f"/staff/inbox/{ref}"))
    staff_questions.reply(seeded, audit.CLI, ref, "Come on Monday.")
    before = state_of(seeded, ref)
    shown = page_of(auth.post(f"/staff/inbox/{ref}", {"do": "send", "answer": "Come today.", "seen": seen_of(page)}))
    assert f"{ref} changed since you opened it" in shown and state_of(seeded, ref) == before
    again = auth.post(f"/staff/inbox/{ref}", {"do": "send", "answer": "Come today.", "seen": seen_of(shown)})
    assert again.status_code == 302 and state_of(seeded, ref)[3:] == (before[3] + 1, before[4] + 1)


def test_a_stale_form_sends_nothing_and_keeps_what_was_typed(seeded, inbox, auth, client):
    mine, _other = inbox
    ref = ask(seeded, mine, THURSDAY)
    auth.as_role("clerk", [mine])
    page = page_of(client.get(f"/staff/inbox/{ref}"))
    before = state_of(seeded, ref)
    unseen = page_of(auth.post(f"/staff/inbox/{ref}", {"do": "send", "answer": "Bring your ID."}))
    assert "Open the thread again and answer." in unseen and state_of(seeded, ref) == before
    response = client.post(f"/staff/inbox/{ref}", data={"do": "send", "answer": "Bring your ID.", "seen": seen_of(page)})
    shown = page_of(response)
    assert STALE in shown and "Bring your ID." in shown and state_of(seeded, ref) == before


def test_a_note_stays_internal_and_a_close_keeps_the_outcome(seeded, inbox, auth, client):
    mine, _other = inbox
    ref = ask(seeded, mine, THURSDAY)
    auth.as_role("clerk", [mine])
    page = page_of(client.get(f"/staff/inbox/{ref}"))
    assert auth.post(f"/staff/inbox/{ref}", {"do": "note", "note": "Called Home Affairs"}).status_code == 302
    shown = page_of(client.get(f"/staff/inbox/{ref}"))
    assert 'data-testid="entry-note"' in shown and "Called Home Affairs" in shown
    assert seen_of(shown) == seen_of(page)  # a note changes nothing an answer depends on
    closed = auth.post(f"/staff/inbox/{ref}", {"do": "close", "outcome": "Resolved", "seen": seen_of(shown)})
    assert closed.status_code == 302 and closed.headers["Location"].endswith("/staff/inbox")
    assert state_of(seeded, ref)[:3] == ("closed", mine, "Resolved") and state_of(seeded, ref)[4] == 0
    assert f'data-testid="thread-{ref}"' not in page_of(client.get("/staff/inbox"))
    assert audit.events(seeded.sessions, "question.closed").total == 1


def test_a_clerk_transfers_and_an_admin_routes_the_unassigned(seeded, inbox, auth, client):
    mine, other = inbox
    ref = ask(seeded, mine, THURSDAY)
    nobody = ask(seeded, None, THURSDAY, phone=OTHER_PHONE)
    auth.as_role("clerk", [mine], email="clerk@example.org")
    unchosen = auth.post(f"/staff/inbox/{ref}", {"do": "transfer", "centre": ""})
    assert "Choose the centre to send it to." in page_of(unchosen) and state_of(seeded, ref)[1] == mine
    assert auth.post(f"/staff/inbox/{ref}", {"do": "transfer", "centre": other}).status_code == 302
    assert state_of(seeded, ref)[1] == other
    assert client.get(f"/staff/inbox/{ref}").status_code == 404  # not theirs any more
    auth.logout()
    auth.as_role("admin")
    page = page_of(client.get(f"/staff/inbox/{nobody}"))
    assert "Unassigned" in page and ">Route<" in page
    assert auth.post(f"/staff/inbox/{nobody}", {"do": "transfer", "centre": mine}).status_code == 302
    assert state_of(seeded, nobody)[1] == mine


def test_an_empty_or_too_long_answer_is_refused_and_nothing_is_sent(seeded, inbox, auth, client):
    mine, _other = inbox
    ref = ask(seeded, mine, THURSDAY)
    auth.as_role("clerk", [mine])
    page = page_of(client.get(f"/staff/inbox/{ref}"))
    before = state_of(seeded, ref)
    empty = page_of(auth.post(f"/staff/inbox/{ref}", {"do": "send", "answer": "", "seen": seen_of(page)}))
    assert "Write the answer." in empty
    long = "Bring your ID. " * 40  # 600 characters: four segments with the reference and opt-out line
    shown = page_of(auth.post(f"/staff/inbox/{ref}", {"do": "preview", "answer": long, "seen": seen_of(page)}))
    assert "longer than 3 SMS: shorten it" in shown
    refused = page_of(auth.post(f"/staff/inbox/{ref}", {"do": "send", "answer": long, "seen": seen_of(page)}))
    assert "Not done: the answer is longer than 3 SMS; shorten it" in refused
    assert state_of(seeded, ref) == before


@pytest.mark.parametrize("action", ["send", "close"])
def test_a_close_landing_between_the_check_and_the_write_sends_and_closes_nothing(
        seeded, inbox, auth, client, monkeypatch, action):
    """The page's check passes, then a colleague's close commits before the answer's own
    transaction: the write sees it under the row lock and refuses."""
    mine, _other = inbox
    ref = ask(seeded, mine, THURSDAY)
    auth.as_role("clerk", [mine])
    seen = seen_of(page_of(client.get(f"/staff/inbox/{ref}")))
    checked = staff_inbox._unchanged

    def checked_then_a_colleague_closes(rt, actor, r, seen, now):
        still = checked(rt, actor, r, seen, now)  # the page's check passes…
        staff_questions.close(rt, audit.CLI, r, "Resolved")  # …then a colleague's close commits
        return still

    monkeypatch.setattr(staff_inbox, "_unchanged", checked_then_a_colleague_closes)
    form = ({"do": "send", "answer": "Bring your old ID.", "seen": seen} if action == "send"
            else {"do": "close", "outcome": "Answered", "seen": seen})
    refused = page_of(auth.post(f"/staff/inbox/{ref}", form))
    monkeypatch.undo()
    assert "was closed meanwhile" in refused, refused
    status, _centre, outcome, entries, sent = state_of(seeded, ref)
    assert (status, outcome, sent) == ("closed", "Resolved", 0)
    assert audit.events(seeded.sessions, "question.replied").total == 0
    assert audit.events(seeded.sessions, "question.closed").total == 1  # the colleague's only
