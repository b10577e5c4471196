"""The message log per number: staff type a number in any local form and read its messages,
newest first, in South African time, with the delivery state and the reason in words; a clerk
only the numbers of their centres (out of scope reads as "no messages"); every look-up audited
without the number; long logs paged through a look-up id that is not the number."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from gateway.staff import privacy
from gateway.staff.holders import Subject
from gateway.staff.number_lookups import LOOKUP_KEY
from gateway.store.models import AuditEvent, Broadcast, Message, Visit
from tests.broadcasting import add_subscribers, centre_id

SUBSCRIBER = "+27821110001"  # subscribed to Soweto
TOLD = "+27821110002"  # sent a Soweto broadcast, never subscribed
VISITED = "+27821110003"  # sent a Soweto visit's notice
ELSEWHERE = "+27821110004"  # subscribed to Worcester
TEXTER = "+27821110005"  # only texted us
_keys = iter(range(1, 1_000_000))
AT = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Mon 7 Dec 2026 10:00 South African time


def message(rt, phone: str, direction: str, text: str, status: str, at: datetime = AT,
            reason: str | None = None, broadcast_id: int | None = None) -> None:
    with rt.sessions.begin() as s:
        s.execute(insert(Message), [{"direction": direction, "idempotency_key": f"t:{next(_keys)}", "phone": phone,
                                     "text": text, "status": status, "failure_reason": reason, "attempts": 0,
                                     "broadcast_id": broadcast_id, "created_at": at, "updated_at": at,
                                     "queue": "bulk" if direction == "out" else None}])


def broadcast(rt, target: str, visit_id: int | None = None) -> int:
    with rt.sessions.begin() as s:
        row = Broadcast(target=target, text="News", full_text="News", status="sent", visit_id=visit_id)
        s.add(row)
        s.flush()
        return row.id


@pytest.fixture
def town(seeded):
    soweto, worcester = centre_id(seeded, "Soweto"), centre_id(seeded, "Worcester")
    add_subscribers(seeded, [SUBSCRIBER], soweto)
    add_subscribers(seeded, [ELSEWHERE], worcester)
    message(seeded, SUBSCRIBER, "in", "CENTRE Soweto", "processed")
    message(seeded, SUBSCRIBER, "out", "Soweto Thusong, 1 Main Rd", "delivered", AT + timedelta(minutes=1))
    message(seeded, SUBSCRIBER, "out", "Home Affairs on Tuesday", "failed", AT + timedelta(hours=2),
            reason="InsufficientCredit")
    message(seeded, TOLD, "out", "Soweto news", "delivered", broadcast_id=broadcast(seeded, f"centre:{soweto}"))
    with seeded.sessions.begin() as s:
        visit = Visit(centre_id=soweto, service="SASSA", day=AT.date(), starts=AT.time(), ends=AT.time(),
                      status="approved")
        s.add(visit)
        s.flush()
        visit_id = visit.id
    message(seeded, VISITED, "out", "SASSA at Soweto", "sent", broadcast_id=broadcast(seeded, f"visit:{visit_id}", visit_id))
    message(seeded, ELSEWHERE, "out", "Worcester news", "delivered",
            broadcast_id=broadcast(seeded, f"centre:{worcester}"))
    message(seeded, TEXTER, "in", "HELP", "processed")
    return soweto, worcester


def look_up(auth, typed: str):
    """The page a look-up of ``typed`` ends on (following the redirect to its result)."""
    return auth.post("/staff/messages", {"number": typed}, follow_redirects=True)


def rows_of(page: str) -> list[str]:
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip()
            for r in re.findall(r'<tr data-testid="message">(.*?)</tr>', page, re.S)]


@pytest.mark.parametrize("typed", ["082 111 0001", "0821110001", "27821110001", "+27 82 111 0001", "+27821110001"])
def test_a_clerk_reads_a_subscribers_messages_in_any_local_form(town, auth, typed):
    soweto, _ = town
    auth.as_role("clerk", [soweto])
    response = look_up(auth, typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert rows_of(page) == [
        "Mon 7 Dec 2026 12:00 Sent Home Affairs on Tuesday not delivered Our SMS account ran out of credit.",
        "Mon 7 Dec 2026 10:01 Sent Soweto Thusong, 1 Main Rd delivered",
        "Mon 7 Dec 2026 10:00 Received CENTRE Soweto received and answered"]
    assert 'data-testid="number">+2782****001<' in page
    for clear in ("+27821110001", "821110001", "082 111 0001", typed):  # masked wherever it shows
        assert clear not in page and clear not in response.request.url


@pytest.mark.parametrize("phone", [TOLD, VISITED], ids=["sent-a-centre-broadcast", "sent-a-visit-notice"])
def test_a_number_sent_a_message_about_the_clerks_centre_is_in_scope(town, auth, phone):
    soweto, _ = town
    auth.as_role("clerk", [soweto])
    assert len(rows_of(look_up(auth, phone).get_data(as_text=True))) == 1


@pytest.mark.parametrize("phone", [ELSEWHERE, TEXTER, "+27821119999"], ids=["another-centre", "only-texted", "unknown"])
def test_out_of_scope_reads_as_no_messages(town, auth, phone):
    soweto, _ = town
    auth.as_role("clerk", [soweto])
    page = look_up(auth, phone).get_data(as_text=True)
    assert rows_of(page) == []
    shown = re.search(r'<p data-testid="none">(.*?)</p>', page).group(1)
    assert re.sub(r"\+27\S+", "NUMBER", shown) == "No messages to or from NUMBER in your centres' records."


def test_an_approver_limited_to_a_centre_is_scoped_and_an_admin_reads_every_number(town, auth):
    _, worcester = town
    auth.as_role("approver", [worcester])
    assert len(rows_of(look_up(auth, ELSEWHERE).get_data(as_text=True))) == 1
    assert rows_of(look_up(auth, SUBSCRIBER).get_data(as_text=True)) == []
    auth.logout()
    auth.as_role("admin")
    for phone, count in ((ELSEWHERE, 1), (TEXTER, 1), (SUBSCRIBER, 3)):
        assert len(rows_of(look_up(auth, phone).get_data(as_text=True))) == count


def test_every_look_up_is_audited_with_a_masked_number_and_a_keyed_reference(town, seeded, auth):
    soweto, _ = town
    auth.as_role("clerk", [soweto])
    look_up(auth, SUBSCRIBER)
    look_up(auth, ELSEWHERE)
    with seeded.sessions() as s:
        rows = s.execute(select(AuditEvent.target, AuditEvent.detail).where(AuditEvent.action == "messages.looked_up")
                         .order_by(AuditEvent.id)).all()
    assert [(t, json.loads(d)) for t, d in rows] == [
        ("+2782****001", {"ref": privacy.reference(Subject(SUBSCRIBER, seeded.settings)), "in_scope": True,
                          "page": 1, "shown": 3}),
        ("+2782****004", {"ref": privacy.reference(Subject(ELSEWHERE, seeded.settings)), "in_scope": False,
                          "page": None, "shown": 0})]
    for target, detail in rows:
        assert "821110001" not in target + detail and "821110004" not in target + detail


def test_a_long_log_is_paged_through_a_look_up_id_bound_to_who_typed_it(town, seeded, auth):
    soweto, _ = town
    for i in range(55):
        message(seeded, SUBSCRIBER, "out", f"Notice {i:02d}", "delivered", AT + timedelta(days=1, minutes=i))
    auth.as_role("clerk", [soweto])
    first = look_up(auth, SUBSCRIBER)
    page = first.get_data(as_text=True)
    assert "58 messages, page 1 of 2" in page and rows_of(page)[0].endswith("Notice 54 delivered")
    older = re.search(r'href="([^"]+)" data-testid="older"', page).group(1).replace("&amp;", "&")
    assert "821110001" not in older
    second = auth.client.get(older).get_data(as_text=True)
    assert "page 2 of 2" in second and rows_of(second)[-1].endswith("CENTRE Soweto received and answered")
    assert len(rows_of(second)) == 8
    lookup = older.split("/staff/messages/")[1].split("?")[0]
    assert seeded.redis.ttl(LOOKUP_KEY + lookup) > 0
    auth.logout()
    auth.as_role("clerk", [soweto], email="colleague@example.org")  # another account, same centre
    refused = auth.client.get(older, follow_redirects=True).get_data(as_text=True)
    assert "That look-up has expired (or is not yours)" in refused and rows_of(refused) == []
    seeded.redis.delete(LOOKUP_KEY + lookup)
    gone = auth.client.get(older, follow_redirects=True).get_data(as_text=True)
    assert "That look-up has expired" in gone


def test_a_typed_text_that_is_no_number_is_refused_and_not_echoed(town, auth):
    auth.as_role("admin")
    page = look_up(auth, "082 11").get_data(as_text=True)
    assert "Not a phone number we can use" in page and "082 11<" not in page and "value=\"082 11\"" not in page
    with auth.rt.sessions() as s:
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "messages.looked_up")) is None
