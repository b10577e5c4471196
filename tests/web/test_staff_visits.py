"""The service-visit pages through the Flask test client: a clerk registers a visit for their
centre only, an approver releases it, changes and cancels go through the pages, every step
is in the audit log, CSRF holds, and nothing needs JavaScript."""

from __future__ import annotations

import re
from datetime import date, datetime, time

import pytest
from sqlalchemy import select, update

from gateway.clock import SAST, FrozenClock
from gateway.staff import audit, visits
from gateway.staff import broadcasts as bc
from gateway.store.models import Centre, Visit
from tests.broadcasting import add_subscribers, centre_id


@pytest.fixture
def towns(seeded, monkeypatch):
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BROADCAST_APPROVAL="true", BULK_SCHEDULE=""))
    monkeypatch.setattr(seeded, "clock", FrozenClock(datetime(2026, 12, 3, 10, 0, tzinfo=SAST)))  # a Thursday
    soweto, worcester = centre_id(seeded, "Soweto"), centre_id(seeded, "Worcester")
    add_subscribers(seeded, [f"+2782400000{i}" for i in range(3)], soweto)
    return {"soweto": soweto, "worcester": worcester}


DAY = date(2026, 12, 7)  # the Monday after: the reminder goes on Saturday


def register(auth, centre: int, path: str = "/staff/visits/new", **fields):
    data = {"centre": centre, "service": "SASSA", "day": DAY.isoformat(), "starts": "09:00", "ends": "14:00", **fields}
    return auth.post(path, data)


def only_visit(rt) -> Visit:
    with rt.sessions() as s:
        [row] = s.scalars(select(Visit)).all()
    return row


def audit_rows(rt) -> list[tuple[str, str, str | None]]:
    return [(e.action, e.actor, e.target) for e in reversed(audit.events(rt.sessions, "visit").events)]


def test_a_clerks_visit_waits_then_an_approver_announces_it(towns, seeded, client, auth):
    auth.as_role("clerk", [towns["soweto"]])
    form = client.get("/staff/visits/new").get_data(as_text=True)
    assert "Maponya Mall" in form and "Worcester" not in form and "<script>" not in form
    response = register(auth, towns["soweto"])
    assert response.status_code == 302
    row = only_visit(seeded)
    assert row.status == "pending_approval" and row.service == "SASSA" and row.day == DAY
    page = client.get(f"/staff/visits/{row.id}").get_data(as_text=True)
    assert "Waiting for an approver" in page and "Approve and announce" not in page
    auth.logout()
    auth.as_role("approver")
    assert "Approve and announce" in client.get(f"/staff/visits/{row.id}").get_data(as_text=True)
    page = client.get(f"/staff/visits/{row.id}").get_data(as_text=True)
    assert auth.post(f"/staff/visits/{row.id}/approve", hidden_fields(page, f"/staff/visits/{row.id}/approve")
                     ).status_code == 302
    assert visits.get(seeded, row.id).status == "approved"
    page = client.get(f"/staff/visits/{row.id}").get_data(as_text=True)
    assert "Notice" in page and "SASSA at Maponya Mall Thusong, Mon 7 Dec, 09:00-14:00." in page
    assert "Reminder" in page and "Sat 5 Dec 10:00" in page
    assert audit_rows(seeded) == [("visit.created", "clerk@example.org", f"visit {row.id}"),
                                  ("visit.approved", "approver@example.org", f"visit {row.id}")]


def test_a_clerk_is_held_to_their_centres(towns, seeded, client, auth):
    auth.as_role("clerk", [towns["soweto"]])
    page = register(auth, towns["worcester"])
    assert page.status_code == 200 and f"centre {towns['worcester']} is not one of your centres" in page.get_data(as_text=True)
    other = visits.create(seeded, bc.CLI, towns["worcester"], visits.check(seeded, "SASSA", DAY, time(9), time(14)))
    assert client.get(f"/staff/visits/{other.id}").status_code == 404
    assert auth.post(f"/staff/visits/{other.id}/cancel", {"reason": "x", "confirm": "y"}).status_code == 404
    assert "Worcester" not in client.get("/staff/visits/").get_data(as_text=True)
    assert visits.get(seeded, other.id).status == "approved"


def test_the_domains_refusal_is_shown_on_the_form(towns, seeded, auth):
    auth.as_role("admin")
    page = register(auth, towns["soweto"], starts="15:00", ends="14:00")
    assert "the visit must end after it starts" in page.get_data(as_text=True)
    with seeded.sessions() as s:
        assert not s.scalars(select(Visit)).all()


def test_change_and_cancel_through_the_pages_are_audited(towns, seeded, client, auth):
    auth.as_role("admin")
    register(auth, towns["soweto"])
    first = only_visit(seeded)
    assert first.status == "approved"  # an admin's visit needs nobody else
    form = client.get(f"/staff/visits/{first.id}/edit").get_data(as_text=True)
    assert "Maponya Mall" in form and 'value="SASSA"' in form and "those told get a" in form
    response = register(auth, towns["soweto"], path=f"/staff/visits/{first.id}/edit", starts="10:00")
    assert response.status_code == 302
    assert visits.get(seeded, first.id).status == "replaced"
    with seeded.sessions() as s:
        new = s.scalar(select(Visit).where(Visit.replaces_id == first.id))
    assert new.status == "approved" and new.starts.hour == 10
    assert response.headers["Location"].endswith(f"/staff/visits/{new.id}")
    assert auth.post(f"/staff/visits/{new.id}/cancel", {"reason": "Wrong day"}).status_code == 302
    assert visits.get(seeded, new.id).status == "approved"  # no confirmation ticked: nothing happens
    assert auth.post(f"/staff/visits/{new.id}/cancel", {"confirm": "y"}).status_code == 302
    assert visits.get(seeded, new.id).status == "approved"  # no reason: nothing happens
    assert auth.post(f"/staff/visits/{new.id}/cancel", {"reason": "Wrong day", "confirm": "y"}).status_code == 302
    assert visits.get(seeded, new.id).status == "cancelled"
    assert [a for a, _actor, _t in audit_rows(seeded)] == ["visit.created", "visit.edited", "visit.cancelled"]
    assert "Change this visit" not in client.get(f"/staff/visits/{new.id}").get_data(as_text=True)


def test_forms_without_a_csrf_token_are_refused(towns, seeded, client, auth):
    auth.as_role("admin")
    response = client.post("/staff/visits/new", data={"centre": towns["soweto"], "service": "SASSA",
                                                      "day": DAY.isoformat(), "starts": "09:00", "ends": "14:00"})
    assert response.status_code in (200, 400)
    with seeded.sessions() as s:
        assert not s.scalars(select(Visit)).all()


def test_the_pages_need_a_login(client, rt):
    assert client.get("/staff/visits/").status_code == 302
    assert client.get("/staff/visits/new").status_code == 302


# --- an approval binds what the approver saw -------------------------------------------------

def hidden_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form posting to ``action`` (the CSRF token aside)."""
    match = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert match, f"no form for {action}"
    fields = dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', match.group(1)))
    fields.pop("csrf_token", None)
    return fields


@pytest.mark.parametrize("decision", ["approve", "reject"])
@pytest.mark.parametrize("waiting", ["new-visit", "change-of-an-approved-visit"])
def test_a_visit_changed_after_the_approver_opened_it_is_neither_approved_nor_rejected(
        towns, seeded, app, client, auth, waiting, decision):
    auth.as_role("clerk", [towns["soweto"]])
    if waiting == "new-visit":
        register(auth, towns["soweto"], service="Home Affairs", starts="09:00")
        visit_id = only_visit(seeded).id
    else:
        first = visits.create(seeded, bc.CLI, towns["soweto"], visits.check(seeded, "Home Affairs", DAY, time(9), time(14)))
        register(auth, towns["soweto"], path=f"/staff/visits/{first.id}/edit", service="Home Affairs", starts="10:00")
        visit_id = visits.pending_edit(seeded, first.id).id
    approver = auth.__class__(app.test_client(), seeded)
    approver.as_role("approver")
    path = f"/staff/visits/{visit_id}/{decision}"
    seen = hidden_fields(approver.client.get(f"/staff/visits/{visit_id}").get_data(as_text=True), path)
    before = (len(visits.messages_of(seeded, visit_id)), seeded.queue("bulk").count)
    # The clerk changes it while the approver reads it.
    assert register(auth, towns["soweto"], path=f"/staff/visits/{visit_id}/edit", service="SASSA",
                    starts="11:00").status_code == 302
    answer = approver.post(path, {**seen, "reason": "Wrong week"}, follow_redirects=True).get_data(as_text=True)
    assert "this changed since you opened it" in answer
    row = visits.get(seeded, visit_id)
    assert (row.status, row.service, row.starts) == ("pending_approval", "SASSA", time(11))
    assert (len(visits.messages_of(seeded, visit_id)), seeded.queue("bulk").count) == before  # nothing sent
    # What the approver now sees is what they decide.
    seen = hidden_fields(approver.client.get(f"/staff/visits/{visit_id}").get_data(as_text=True), path)
    assert approver.post(path, {**seen, "reason": "Wrong week"}).status_code == 302
    assert visits.get(seeded, visit_id).status == {"approve": "approved", "reject": "rejected"}[decision]


# --- visits no citizen should get -------------------------------------------------------------

SUNDAY = date(2026, 12, 6)


@pytest.mark.parametrize("fields, says", [
    ({"day": "9999-12-31"}, "too far ahead"),
    ({"day": "0001-01-01"}, "already over"),
    ({"day": "2026-12-01"}, "already over"),
], ids=["year-9999", "year-0001", "a-day-past"])
def test_a_visit_on_a_day_no_citizen_can_come_is_refused(towns, seeded, auth, fields, says):
    auth.as_role("admin")
    page = register(auth, towns["soweto"], **fields)
    assert page.status_code == 200 and says in page.get_data(as_text=True)
    with seeded.sessions() as s:
        assert not s.scalars(select(Visit)).all()


@pytest.mark.parametrize("fields, says", [
    ({"day": SUNDAY.isoformat()}, "Sun 6 Dec is a Sunday"),
    ({"day": "2026-12-16"}, "public holiday (Day of Reconciliation)"),
    ({"starts": "06:00", "ends": "09:00"}, "06:00-09:00 is outside the centre&#39;s hours on Mondays (08:00-16:30)"),
    ({"starts": "15:00", "ends": "18:00"}, "outside the centre&#39;s hours"),
    ({"day": "2026-12-05"}, "the centre is closed on Saturdays"),
    ({"service": "sassa", "starts": "10:00"}, "SASSA already visits the centre that day (visit"),
], ids=["sunday", "holiday", "before-opening", "after-closing", "closed-day", "same-service-same-day"])
def test_a_visit_to_check_comes_back_with_its_warning_until_the_author_confirms_it(
        towns, seeded, client, auth, fields, says):
    with seeded.sessions.begin() as s:
        s.execute(update(Centre).where(Centre.id == towns["soweto"]).values(
            **{f"hours_{d}": "08:00-16:30" for d in ("mon", "tue", "wed", "thu", "fri")}, hours_sat="closed"))
    auth.as_role("admin")
    if "service" in fields:
        assert register(auth, towns["soweto"]).status_code == 302  # the first SASSA visit that Monday
    count = len(visits.list_visits(seeded, bc.CLI))
    page = register(auth, towns["soweto"], **fields)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and says in html and "Check before it is announced" in html
    assert len(visits.list_visits(seeded, bc.CLI)) == count  # nothing registered
    confirmed = hidden_fields_of_form(html)["confirmed"]
    assert register(auth, towns["soweto"], **fields, confirmed=confirmed).status_code == 200  # box not ticked
    assert register(auth, towns["soweto"], **fields, confirmed="0" * 32, confirm="y").status_code == 200  # not these
    assert len(visits.list_visits(seeded, bc.CLI)) == count
    assert register(auth, towns["soweto"], **fields, confirmed=confirmed, confirm="y").status_code == 302
    assert len(visits.list_visits(seeded, bc.CLI)) == count + 1
    [event] = [e for e in audit.events(seeded.sessions, "visit.created").events if "confirmed" in (e.detail or "")]
    assert says.replace("&#39;", "'") in event.detail


def hidden_fields_of_form(html: str) -> dict[str, str]:
    match = re.search(r'<form method="post" class="card wide" novalidate[^>]*>(.*?)</form>', html, re.S)
    return dict(re.findall(r'<input[^>]*id="([^"]+)"[^>]*type="hidden"[^>]*value="([^"]*)"', match.group(1)))


def test_the_approver_reads_the_exact_notice_its_recipients_and_cost(towns, seeded, app, auth):
    auth.as_role("clerk", [towns["soweto"]])
    register(auth, towns["soweto"], day=SUNDAY.isoformat(), confirmed=visits.Unconfirmed(
        visits.warnings(seeded, towns["soweto"], visits.check(seeded, "SASSA", SUNDAY, time(9), time(14)))).digest,
        confirm="y")
    row = only_visit(seeded)
    approver = auth.__class__(app.test_client(), seeded)
    approver.as_role("approver")
    html = approver.client.get(f"/staff/visits/{row.id}").get_data(as_text=True)
    assert "Nothing sent" not in html
    assert ("Thusong: SASSA at Maponya Mall Thusong, Sun 6 Dec, 09:00-14:00. Reply STOP to opt out" in html)
    assert re.search(r'data-testid="plan-recipients">3<', html)
    cost = 3 * float(seeded.settings.SMS_COST_PER_SEGMENT)
    assert f"R{cost:.2f}" in html
    assert "Sun 6 Dec is a Sunday" in html  # what the author confirmed, the approver reads too


# --- a clerk's call-off of someone else's approved visit -----------------------------------------

def test_a_clerks_cancel_of_someone_elses_visit_waits_for_an_approver_and_is_audited(towns, seeded, app, client, auth):
    first = visits.create(seeded, bc.CLI, towns["soweto"], visits.check(seeded, "SASSA", DAY, time(9), time(14)))
    auth.as_role("clerk", [towns["soweto"]])
    page = client.get(f"/staff/visits/{first.id}").get_data(as_text=True)
    assert "an approver must agree before it is cancelled" in page and "Ask to cancel this visit" in page
    path = f"/staff/visits/{first.id}/cancel"
    assert "Tick the box to confirm." in auth.post(path, {"reason": "Broke down"}, follow_redirects=True
                                                  ).get_data(as_text=True)
    assert "Say why the visit is cancelled." in auth.post(path, {"confirm": "y"}, follow_redirects=True
                                                          ).get_data(as_text=True)
    answer = auth.post(path, {"reason": "The unit broke down", "confirm": "y"}, follow_redirects=True)
    assert "stays in force until an approver agrees" in answer.get_data(as_text=True)
    assert visits.get(seeded, first.id).status == "approved"
    approver = auth.__class__(app.test_client(), seeded)
    approver.as_role("approver")
    assert "1 waiting for your decision" in approver.client.get("/staff/").get_data(as_text=True)
    assert "1 waiting for your decision" not in client.get("/staff/").get_data(as_text=True)  # not the clerk's
    assert "cancel asked" in approver.client.get("/staff/visits/").get_data(as_text=True)
    page = approver.client.get(f"/staff/visits/{first.id}").get_data(as_text=True)
    assert "A request to cancel this visit waits for an approver. Reason: The unit broke down" in page
    decide = hidden_fields(page, f"/staff/visits/{first.id}/cancel/approve")
    assert approver.post(f"/staff/visits/{first.id}/cancel/approve", decide).status_code == 302
    assert "waiting for your decision" not in approver.client.get("/staff/").get_data(as_text=True)
    row = visits.get(seeded, first.id)
    assert (row.status, row.cancel_reason) == ("cancelled", "The unit broke down")
    events = {e.action: e for e in audit.events(seeded.sessions, "visit").events}
    assert "The unit broke down" in events["visit.cancel_requested"].detail
    assert events["visit.cancelled"].actor == "approver@example.org"
    assert "The unit broke down" in events["visit.cancelled"].detail
