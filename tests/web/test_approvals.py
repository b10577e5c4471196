"""The approvals inbox and the home page's block: an approver sees what they may decide (their
centres, never their own items), a clerk their own items waiting; decisions taken on each item's
own page show on its author's home page once, since they last looked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gateway.staff import approvals, audit
from gateway.store.models import AuditEvent, Broadcast, CentreChange, Staff, utcnow
from tests.approving import (
    Office,
    broadcast_by,
    cancel_request_by,
    change_by,
    decide_everything,
    kinds,
    login,
    make_office,
    visit_by,
)


@pytest.fixture
def office(seeded, auth, monkeypatch) -> Office:
    return make_office(seeded, auth, monkeypatch)


def test_an_approver_sees_everything_waiting_in_their_centres_and_a_clerk_their_own(office):
    o = office
    mine = {("broadcast", broadcast_by(o, o.clerk, o.soweto)), ("visit", visit_by(o, o.clerk, o.soweto)),
            ("centre_change", change_by(o, o.clerk, o.soweto)),
            ("visit_cancel", cancel_request_by(o, o.clerk, o.soweto))}
    theirs = {("broadcast", broadcast_by(o, o.other_clerk, o.worcester)),
              ("visit", visit_by(o, o.other_clerk, o.worcester)),
              ("centre_change", change_by(o, o.other_clerk, o.worcester))}
    assert kinds(approvals.waiting_for(o.rt, o.approver)) == mine  # Soweto's only
    assert kinds(approvals.waiting_for(o.rt, o.chief)) == mine | theirs
    assert approvals.waiting_for(o.rt, o.clerk) == []  # a clerk decides nothing
    assert kinds(approvals.mine_waiting(o.rt, o.clerk)) == mine
    assert kinds(approvals.mine_waiting(o.rt, o.other_clerk)) == theirs
    assert approvals.mine_waiting(o.rt, o.approver) == []


def test_a_clerk_decides_nothing_not_even_a_colleagues_item(office, auth):
    o = office
    colleague = auth.add("clerk", [o.soweto], email="colleague@example.org")
    broadcast, change = broadcast_by(o, colleague, o.soweto), change_by(o, colleague, o.soweto)
    assert approvals.waiting_for(o.rt, o.clerk) == []
    assert kinds(approvals.waiting_for(o.rt, o.approver)) == {("broadcast", broadcast), ("centre_change", change)}


def test_an_approvers_own_items_are_not_theirs_to_decide(office):
    """The two-person rule: a broadcast or centre change written by someone who is an approver
    now (a clerk promoted while it waited) is not in their inbox, but in their own list."""
    o = office
    broadcast, change = broadcast_by(o, o.clerk, o.soweto), change_by(o, o.clerk, o.soweto)
    with o.rt.sessions.begin() as s:
        s.execute(update(Broadcast).where(Broadcast.id == broadcast).values(author_id=o.approver.id))
        s.execute(update(CentreChange).where(CentreChange.id == change).values(author_id=o.approver.id))
    assert kinds(approvals.waiting_for(o.rt, o.approver)) == set()
    assert kinds(approvals.waiting_for(o.rt, o.chief)) == {("broadcast", broadcast), ("centre_change", change)}
    assert kinds(approvals.mine_waiting(o.rt, o.approver)) == {("broadcast", broadcast), ("centre_change", change)}


def test_the_inbox_page_links_each_item_to_the_page_it_is_decided_on(office, auth):
    o = office
    broadcast, visit = broadcast_by(o, o.clerk, o.soweto), visit_by(o, o.clerk, o.soweto)
    change, cancel = change_by(o, o.clerk, o.soweto), cancel_request_by(o, o.clerk, o.soweto)
    elsewhere = broadcast_by(o, o.other_clerk, o.worcester, "Worcester news")
    login(auth, o.approver)
    page = auth.client.get("/staff/approvals").get_data(as_text=True)
    links = set(re.findall(r'href="(/staff/(?:broadcasts|visits|centres)/[^"]*)"', page))
    assert {f"/staff/broadcasts/{broadcast}", f"/staff/visits/{visit}", f"/staff/visits/{cancel}",
            f"/staff/centres/changes/#change-{change}"} <= links
    assert f"/staff/broadcasts/{elsewhere}" not in links and "Worcester news" not in page
    assert 'data-testid="for-me-count">4<' in page and "Clerk" in page and "Home Affairs on Tuesday" in page
    assert "Approve" not in page  # deciding happens on each item's page, bound to what was seen there
    login(auth, o.clerk)
    page = auth.client.get("/staff/approvals").get_data(as_text=True)
    assert "for-me-count" not in page and 'data-testid="mine-count">4<' in page
    assert f'href="/staff/centres/{o.soweto}"' in page  # a clerk follows a change on the centre's page


def test_the_home_page_counts_what_waits(office, auth):
    o = office
    broadcast_by(o, o.clerk, o.soweto)
    visit_by(o, o.other_clerk, o.worcester)
    login(auth, o.approver)
    page = auth.client.get("/staff/").get_data(as_text=True)
    assert 'data-testid="approvals-waiting">1<' in page and 'data-testid="approvals-mine">0<' in page
    login(auth, o.clerk)
    page = auth.client.get("/staff/").get_data(as_text=True)
    assert "approvals-waiting" not in page and 'data-testid="approvals-mine">1<' in page


def test_an_author_sees_what_was_decided_since_they_last_looked_once(office, auth):
    o = office
    login(auth, o.clerk)
    auth.client.get("/staff/")  # the clerk looks before anything is decided
    ids = decide_everything(o, auth)
    decided = {(d.kind, d.id, d.approved) for d in approvals.decided_since(o.rt, o.clerk, approvals.last_seen(o.rt, o.clerk))}
    assert decided == {("broadcast", ids["rejected"], False), ("broadcast", ids["approved"], True),
                       ("visit", ids["visit"], False), ("centre_change", ids["change"], False),
                       ("visit_cancel", ids["cancel"], False)}
    assert approvals.decided_since(o.rt, o.other_clerk, None) == []  # someone else's items
    login(auth, o.clerk)
    page = auth.client.get("/staff/").get_data(as_text=True)
    assert page.count('data-testid="decided-item"') == 5
    assert "Wrong date: the unit comes on Wednesday" in page and "The visit goes ahead" in page
    assert "Approved text" not in page and f'href="/staff/broadcasts/{ids["approved"]}"' in page
    assert f'href="/staff/centres/{o.soweto}"' in page  # the change and its reason, on the centre's page
    again = auth.client.get("/staff/").get_data(as_text=True)
    assert "decided-item" not in again and 'data-testid="decided-none"' in again  # seen: not shown twice


def test_a_cancel_nobody_had_to_agree_to_is_no_decision(office):
    o = office
    visit = visit_by(o, o.clerk, o.soweto)
    audit.record(o.rt, o.clerk, "visit.cancelled", target=f"visit {visit}", detail={"was": "pending_approval"})
    assert approvals.decided_since(o.rt, o.clerk, None) == []


def test_the_last_look_never_moves_back(office):
    o = office
    later = utcnow()
    approvals.mark_seen(o.rt, o.clerk, later)
    approvals.mark_seen(o.rt, o.clerk, later - timedelta(hours=1))  # a slower request finishing last
    assert approvals.last_seen(o.rt, o.clerk) == later


def test_a_first_look_shows_only_the_last_week(office):
    o = office
    broadcast = broadcast_by(o, o.clerk, o.soweto)
    audit.record(o.rt, o.approver, "broadcast.rejected", target=f"broadcast {broadcast}", detail={"reason": "old"})
    with o.rt.sessions.begin() as s:
        s.execute(update(AuditEvent).values(at=utcnow() - approvals.FIRST_LOOK - timedelta(hours=1)))
    assert approvals.decided_since(o.rt, o.clerk, None) == []
    with o.rt.sessions.begin() as s:
        s.execute(update(AuditEvent).values(at=utcnow() - timedelta(days=1)))
    assert [d.id for d in approvals.decided_since(o.rt, o.clerk, None)] == [broadcast]


def test_opening_the_home_page_records_the_look(office, auth):
    o = office
    login(auth, o.clerk)
    before = utcnow()
    auth.client.get("/staff/")
    with o.rt.sessions() as s:
        seen = s.scalar(select(Staff.last_seen_at).where(Staff.id == o.clerk.id))
    assert seen is not None and approvals.last_seen(o.rt, o.clerk) >= before
