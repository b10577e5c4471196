"""The service-visit pages through the Flask test client: a clerk registers a visit for their
centre only, an approver releases it, changes and cancels go through the pages, every step
is in the audit log, CSRF holds, and nothing needs JavaScript."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlalchemy import select

from gateway.clock import SAST, FrozenClock
from gateway.staff import audit, visits
from gateway.staff import broadcasts as bc
from gateway.store.models import Visit
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
    assert auth.post(f"/staff/visits/{row.id}/approve").status_code == 302
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
    assert auth.post(f"/staff/visits/{other.id}/cancel").status_code == 404
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
    assert auth.post(f"/staff/visits/{new.id}/cancel").status_code == 302
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
