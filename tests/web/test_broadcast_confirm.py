"""Check, then send, through the Flask test client: the confirm page restates recipients,
segments, cost and the start in words and stores nothing; only its button sends, and only
what it showed (a text, audience, language, time, start or approval rule changed since, or a
recipient count moved materially, is refused and shown again); one page sends once; under the
two-person rule the author's confirm submits for approval. And the test SMS to one's own
phone: the exact text through the outbox, no broadcast, audited with the number masked, five
an hour, and a way to add a phone when there is none."""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from gateway import jobs
from gateway.clock import SAST, FrozenClock
from gateway.staff import audit, own_phone, send_check
from gateway.staff import broadcasts as bc
from gateway.staff.accounts import set_phone
from gateway.store.models import Broadcast, Message
from tests.broadcasting import add_subscribers, centre_id, confirm_fields
from tests.web.test_staff_broadcasts import as_other

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=SAST)  # a Monday
MESSAGE = "Home Affairs mobile unit on Thursday. Bring your ID."
STAFF_PHONE = "+27715550123"


@pytest.fixture
def soweto(seeded, monkeypatch):
    """Soweto with 3 subscribers (1 more opted out), the clock at Monday 7 Dec 2026 09:30."""
    monkeypatch.setattr(seeded, "clock", FrozenClock(NOW))
    centre = centre_id(seeded, "Soweto")
    add_subscribers(seeded, [f"+2782400000{i}" for i in range(3)], centre)
    add_subscribers(seeded, ["+27824000009"], centre, opted_out=True)
    return centre


def shown_by_testid(page: str) -> dict[str, str]:
    """Every innermost ``data-testid`` element's text, tags stripped (headings and cells too)."""
    found = re.findall(r'data-testid="([^"]+)"[^>]*>((?:(?!data-testid=).)*?)</(?:dd|span|p|strong|div|h1|td)>',
                       page, re.S)
    return {key: " ".join(re.sub(r"<[^>]+>", " ", value).split()) for key, value in found}


def form(centre: int, **fields) -> dict:
    return {"kind": "centre", "centres": [centre], "language": "", "message": MESSAGE, "when": "now", **fields}


def at(day: int, time: str) -> dict:
    return {"when": "at", "at-day": str(day), "at-month": "12", "at-year": "2026", "at-time": time}


def stored(rt) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(Broadcast))


def outbox(rt) -> list[Message]:
    with rt.sessions() as s:
        return list(s.scalars(select(Message).order_by(Message.id)))


def check(auth, centre: int, **fields) -> tuple[str, dict[str, str]]:
    page = auth.post("/staff/broadcasts/new", {**form(centre, **fields), "action": "check"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    return text, confirm_fields(text)


def confirm(auth, centre: int, bound: dict[str, str], **fields):
    return auth.post("/staff/broadcasts/new", {**form(centre, **fields), **bound, "action": "send"})


# --- the confirm page -------------------------------------------------------------------------

def test_check_restates_everything_in_words_and_stores_nothing(soweto, seeded, auth):
    auth.as_role("admin")
    _spec, expected = bc.compose(seeded, f"centre:{soweto}", MESSAGE)
    page, bound = check(auth, soweto)
    shown = shown_by_testid(page)
    assert shown["question"] == "Send 3 text messages?"
    assert shown["confirm-recipients"] == "3" and shown["confirm-segments"] == str(expected.segments)
    assert shown["confirm-cost"] == f"R{expected.cost:.2f}"
    assert shown["confirm-start"] == "Now (Monday 7 December 2026, 09:30 SAST)"
    assert html.unescape(shown["confirm-text"]) == expected.text  # prefix and opt-out line included
    assert f"{expected.segments * 3} in all" in page
    assert set(bound) == {"seen", "shown_recipients", "token", "step"} and bound["shown_recipients"] == "3"
    assert stored(seeded) == 0 and seeded.queue(jobs.QUEUE_BULK).count == 0
    assert audit.events(seeded.sessions, "broadcast").events == []


def test_a_later_send_says_its_start_in_full_and_schedules(soweto, seeded, auth):
    auth.as_role("admin")
    page, bound = check(auth, soweto, **at(10, "10:00"))
    shown = shown_by_testid(page)
    assert shown["question"] == "Schedule 3 text messages?"
    assert shown["confirm-start"] == "Thursday 10 December 2026, 10:00 SAST"
    response = confirm(auth, soweto, bound, **at(10, "10:00"))
    assert response.status_code == 302
    [row] = bc.list_broadcasts(seeded)
    assert row.status == "scheduled" and bc.utc(row.scheduled_at) == datetime(2026, 12, 10, 10, tzinfo=SAST)


def test_a_start_moved_by_quiet_hours_says_so(soweto, seeded, auth, monkeypatch):
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BULK_SCHEDULE=""))  # the CPA's hours
    auth.as_role("admin")
    shown = shown_by_testid(check(auth, soweto, **at(10, "21:00"))[0])
    assert shown["confirm-start"] == ("Friday 11 December 2026, 08:00 SAST "
                                      "(quiet hours: you asked for Thursday 10 December 2026, 21:00 SAST)")


def test_a_send_without_the_confirm_page_only_shows_the_confirm_page(soweto, seeded, auth):
    """The compose page's old "Send" (or a hand-made post): nothing is queued before the confirm."""
    auth.as_role("admin")
    for extra in ({}, {"seen": "0" * 32, "shown_recipients": "3", "token": "f" * 32}):
        response = auth.post("/staff/broadcasts/new", {**form(soweto), **extra, "action": "send"})
        assert response.status_code == 200
        assert shown_by_testid(response.get_data(as_text=True))["question"] == "Send 3 text messages?"
    assert stored(seeded) == 0 and seeded.queue(jobs.QUEUE_BULK).count == 0


def test_the_confirm_sends_what_it_showed_and_audits_it(soweto, seeded, auth):
    admin = auth.as_role("admin")
    _page, bound = check(auth, soweto)
    response = confirm(auth, soweto, bound)
    [row] = bc.list_broadcasts(seeded)
    assert response.headers["Location"] == f"/staff/broadcasts/{row.id}"
    assert (row.status, row.recipients) == ("scheduled", 3)
    assert [(e.action, e.actor) for e in reversed(audit.events(seeded.sessions, "broadcast").events)] == [
        ("broadcast.created", admin.email), ("broadcast.sent", admin.email)]


# (label, what the second post changes, as fields)
CHANGES = [
    ("text", {"message": MESSAGE + " Free."}),
    ("target", {"kind": "all"}),
    ("language", {"language": "zu"}),
    ("time", at(10, "10:00")),
    ("count-tampered", {"shown_recipients": "4"}),
    ("token-tampered", {"token": "a" * 32}),
]


@pytest.mark.parametrize("change", [c for _label, c in CHANGES], ids=[label for label, _c in CHANGES])
def test_a_confirm_for_something_else_than_was_shown_is_refused_and_shown_again(soweto, seeded, auth, change):
    auth.as_role("admin")
    _page, bound = check(auth, soweto)
    response = confirm(auth, soweto, {**bound, **{k: v for k, v in change.items() if k in bound}},
                       **{k: v for k, v in change.items() if k not in bound})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This changed since you checked it" in shown_by_testid(page)["moved"]
    assert stored(seeded) == 0 and seeded.queue(jobs.QUEUE_BULK).count == 0
    # The page shown again binds what it shows now: its own button sends that.
    posted = {**form(soweto), **{k: v for k, v in change.items() if k not in bound}}
    assert auth.post("/staff/broadcasts/new", {**posted, **confirm_fields(page), "action": "send"}).status_code == 302
    assert stored(seeded) == 1


def test_a_start_that_quiet_hours_moved_since_the_check_is_refused(soweto, seeded, auth, monkeypatch):
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BULK_SCHEDULE=""))
    monkeypatch.setattr(seeded, "clock", FrozenClock(datetime(2026, 12, 10, 19, 59, 30, tzinfo=SAST)))
    auth.as_role("admin")
    page, bound = check(auth, soweto)
    assert shown_by_testid(page)["confirm-start"] == "Now (Thursday 10 December 2026, 19:59 SAST)"
    seeded.clock.advance(60)  # 20:00:30: quiet hours began
    again = confirm(auth, soweto, bound).get_data(as_text=True)
    assert "This changed since you checked it" in again
    assert shown_by_testid(again)["confirm-start"].startswith("Friday 11 December 2026, 08:00 SAST")
    assert stored(seeded) == 0


@pytest.mark.parametrize("joined, sent", [(5, True), (6, False)], ids=["5-more-goes", "6-more-refused"])
def test_recipients_that_moved_materially_since_the_check_are_refused(soweto, seeded, auth, joined, sent):
    """3 shown: up to 5 people more (or 5 %) is a drift, not a different broadcast."""
    auth.as_role("admin")
    _page, bound = check(auth, soweto)
    add_subscribers(seeded, [f"+2782410000{i}" for i in range(joined)], soweto)
    response = confirm(auth, soweto, bound)
    if sent:
        assert response.status_code == 302 and bc.list_broadcasts(seeded)[0].recipients == 3 + joined
    else:
        page = response.get_data(as_text=True)
        assert f"The recipients changed from 3 to {3 + joined} since you checked" in shown_by_testid(page)["moved"]
        assert shown_by_testid(page)["question"] == f"Send {3 + joined} text messages?"
        assert stored(seeded) == 0


def test_the_material_rule(seeded):
    assert not send_check.moved_materially(205, 210) and send_check.moved_materially(205, 216)
    assert not send_check.moved_materially(1000, 1050) and send_check.moved_materially(1000, 1051)
    assert send_check.moved_materially(3, 9) and not send_check.moved_materially(3, 0)


def test_a_confirm_page_sends_once(soweto, seeded, auth):
    auth.as_role("admin")
    _page, bound = check(auth, soweto)
    assert confirm(auth, soweto, bound).status_code == 302
    again = confirm(auth, soweto, bound)  # a double click, or the browser's "resend"
    assert again.headers["Location"] == "/staff/broadcasts/"
    assert stored(seeded) == 1
    listing = auth.client.get("/staff/broadcasts/").get_data(as_text=True)
    assert "This page was already sent" in listing


def test_the_two_person_rule_the_authors_confirm_submits_for_approval(soweto, seeded, app, auth, monkeypatch):
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BROADCAST_APPROVAL="true"))
    auth.as_role("clerk", [soweto])
    page, bound = check(auth, soweto)
    shown = shown_by_testid(page)
    assert shown["question"] == "Submit 3 text messages for approval?"
    assert "this submits it for approval" in shown["approval-note"]
    assert ">Submit for approval</button>" in page
    response = confirm(auth, soweto, bound)
    [row] = bc.list_broadcasts(seeded)
    assert row.status == "pending_approval" and seeded.queue(jobs.QUEUE_BULK).count == 0
    assert "is submitted: it waits for an approver" in auth.client.get(response.headers["Location"]).get_data(as_text=True)
    # An approver sends at once: the same page asks "Send", not "Submit".
    approver_auth, _ = as_other(app, seeded, auth, "approver")
    theirs = approver_auth.post("/staff/broadcasts/new", {**form(soweto), "action": "check"}).get_data(as_text=True)
    assert shown_by_testid(theirs)["question"] == "Send 3 text messages?" and "approval-note" not in theirs


def test_the_rule_switched_on_between_check_and_confirm_is_refused(soweto, seeded, auth, monkeypatch):
    auth.as_role("clerk", [soweto])
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BROADCAST_APPROVAL="false"))
    _page, bound = check(auth, soweto)
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BROADCAST_APPROVAL="true"))
    page = confirm(auth, soweto, bound).get_data(as_text=True)
    assert "This changed since you checked it" in page and "Submit 3 text messages for approval?" in page
    assert stored(seeded) == 0


def test_change_the_message_goes_back_to_compose_with_what_was_typed(soweto, seeded, auth):
    auth.as_role("admin")
    _page, bound = check(auth, soweto)
    page = auth.post("/staff/broadcasts/new", {**form(soweto), **bound, "action": "edit"}).get_data(as_text=True)
    assert "<h1>Compose a broadcast</h1>" in page and MESSAGE in page and stored(seeded) == 0


# --- a test SMS to one's own phone ------------------------------------------------------------

@pytest.fixture
def with_phone(seeded, auth):
    member = auth.as_role("approver")
    return set_phone(seeded.sessions, member.email, STAFF_PHONE).member


@pytest.mark.parametrize("step", ["compose", "confirm"])
def test_a_test_sms_is_the_exact_text_to_my_phone_and_no_broadcast(soweto, seeded, auth, with_phone, step):
    fields = {"action": "test"}
    add_subscribers(seeded, ["+27824200001", "+27824200002"], soweto, language="zu")
    if step == "confirm":
        _page, bound = check(auth, soweto, language="zu")
        fields.update(bound)
    response = auth.post("/staff/broadcasts/new", {**form(soweto, language="zu"), **fields})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Test SMS sent to your phone +2771****123" in page
    [message] = outbox(seeded)
    _spec, expected = bc.compose(seeded, f"centre:{soweto}", MESSAGE, "zu")
    assert (message.phone, message.text, message.queue) == (STAFF_PHONE, expected.text, jobs.QUEUE_REPLIES)
    assert message.broadcast_id is None and stored(seeded) == 0
    assert seeded.queue(jobs.QUEUE_BULK).count == 0
    # The page it came from, shown again with what was typed.
    if step == "confirm":
        assert shown_by_testid(page)["question"] == "Send 2 text messages?" and confirm_fields(page)["seen"]
    else:
        assert "<h1>Compose a broadcast</h1>" in page and 'data-testid="preview"' in page
    [event] = audit.events(seeded.sessions, "broadcast.test_sent").events
    assert event.actor == with_phone.email and STAFF_PHONE not in (event.detail or "")
    assert "+2771****123" in event.detail


def test_test_messages_are_five_an_hour_per_account(soweto, seeded, auth, with_phone):
    for _ in range(own_phone.PER_HOUR):
        page = auth.post("/staff/broadcasts/new", {**form(soweto), "action": "test"}).get_data(as_text=True)
        assert "Test SMS sent to your phone" in page
    refused = auth.post("/staff/broadcasts/new", {**form(soweto), "action": "test"}).get_data(as_text=True)
    assert "You have sent 5 test messages in the last hour: try again in 60 minutes." in refused
    assert len(outbox(seeded)) == own_phone.PER_HOUR
    assert len(audit.events(seeded.sessions, "broadcast.test_sent").events) == own_phone.PER_HOUR
    seeded.clock.advance(3600)
    again = auth.post("/staff/broadcasts/new", {**form(soweto), "action": "test"}).get_data(as_text=True)
    assert "Test SMS sent to your phone" in again and len(outbox(seeded)) == own_phone.PER_HOUR + 1


def test_without_a_phone_the_page_says_how_to_add_one_and_nothing_is_sent(soweto, seeded, auth, client):
    auth.as_role("clerk", [soweto])
    for page in (client.get("/staff/broadcasts/new").get_data(as_text=True), check(auth, soweto)[0]):
        assert 'data-testid="no-phone"' in page and 'href="/staff/account"' in page
        assert 'value="test"' not in page
    refused = auth.post("/staff/broadcasts/new", {**form(soweto), "action": "test"}).get_data(as_text=True)
    assert "Your account has no mobile number: add one on My account" in refused
    assert outbox(seeded) == []


def test_a_phone_removed_meanwhile_is_refused_by_the_domain(seeded, with_phone):
    without = set_phone(seeded.sessions, with_phone.email, None).member
    with pytest.raises(own_phone.NoPhone):
        own_phone.send_to_self(seeded, without, MESSAGE, None)
    assert outbox(seeded) == []
