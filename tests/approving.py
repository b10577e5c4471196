"""People and items for the approvals tests: two centres under the two-person rule, a clerk
for each, an approver for one and one for all, and one item of each kind waiting or decided
(on each item's own page, as staff decide them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from gateway.staff import broadcasts as bc
from gateway.staff import centre_changes, visit_cancel, visit_plan, visits
from gateway.staff.accounts import Member
from gateway.store.models import CentreChange
from tests.broadcasting import centre_id, ordinary_day
from tests.conftest import Auth


@dataclass
class Office:
    """Two centres, a clerk for each, an approver for the first only, one for every centre."""

    rt: object
    soweto: int
    worcester: int
    clerk: Member
    other_clerk: Member
    approver: Member  # Soweto only
    chief: Member  # every centre


def make_office(seeded, auth: Auth, monkeypatch) -> Office:
    """The seeded runtime with the two-person rule on, and its people."""
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BROADCAST_APPROVAL="true"))
    soweto, worcester = centre_id(seeded, "Soweto"), centre_id(seeded, "Worcester")
    return Office(seeded, soweto, worcester,
                  auth.add("clerk", [soweto], email="clerk@example.org"),
                  auth.add("clerk", [worcester], email="other@example.org"),
                  auth.add("approver", [soweto], email="approver@example.org"),
                  auth.add("approver", email="chief@example.org"))


def broadcast_by(o: Office, member: Member, centre: int, text: str = "Home Affairs on Tuesday") -> int:
    row = bc.create(o.rt, bc.Actor.of(member), f"centre:{centre}", text)
    assert bc.submit(o.rt, bc.Actor.of(member), row.id).status == "pending_approval"
    return row.id


def visit_by(o: Office, member: Member, centre: int, service: str = "SASSA") -> int:
    day = ordinary_day(o.rt, centre, date.today() + timedelta(days=3))
    row = visits.create(o.rt, bc.Actor.of(member), centre, visits.Details(service, day, time(9), time(14)))
    assert row.status == "pending_approval"
    return row.id


def change_by(o: Office, member: Member, centre: int, name: str = "Renamed Thusong") -> int:
    with o.rt.sessions.begin() as s:
        row = CentreChange(centre_id=centre, status="pending", name=name, address="1 Main Rd", phone=None,
                           version=1, author_id=member.id)
        s.add(row)
        s.flush()
        return row.id


def cancel_request_by(o: Office, member: Member, centre: int) -> int:
    """An approved visit the approver registered, that ``member`` (a clerk) asks to cancel."""
    day = ordinary_day(o.rt, centre, date.today() + timedelta(days=3))
    row = visits.create(o.rt, bc.Actor.of(o.chief), centre, visits.Details("Home Affairs", day, time(9), time(14)))
    assert row.status == "approved"
    asked = visit_cancel.cancel(o.rt, bc.Actor.of(member), row.id, "the office has no staff that day")
    assert asked.cancel_requested_by == member.id
    return row.id


def login(auth: Auth, member: Member) -> None:
    """Log ``member`` in on the test client, whoever was logged in before."""
    if auth.client.get("/staff/login").status_code == 302:
        auth.logout()
    assert auth.login(member.email).status_code == 302


def kinds(items) -> set[tuple[str, int]]:
    return {(i.kind, i.id) for i in items}


def _seen_of_change(rt, member, change_id) -> str:
    return next(c.seen for c in centre_changes.pending_changes(rt, member) if c.id == change_id)


def decide_everything(o: Office, auth: Auth) -> dict[str, int]:
    """The approver rejects or refuses one of each of the clerk's items on their own pages,
    and approves one broadcast; returns their ids."""
    ids = {"rejected": broadcast_by(o, o.clerk, o.soweto, "Rejected text"),
           "approved": broadcast_by(o, o.clerk, o.soweto, "Approved text"),
           "visit": visit_by(o, o.clerk, o.soweto), "change": change_by(o, o.clerk, o.soweto),
           "cancel": cancel_request_by(o, o.clerk, o.soweto)}
    login(auth, o.approver)
    rt = o.rt
    for key, action in (("rejected", "reject"), ("approved", "approve")):
        seen = bc.seen_digest(bc.get(rt, ids[key]))
        assert auth.post(f"/staff/broadcasts/{ids[key]}/{action}",
                         {"seen": seen, "reason": "Wrong date: the unit comes on Wednesday"}).status_code == 302
    visit = visits.get(rt, ids["visit"])
    auth.post(f"/staff/visits/{ids['visit']}/reject", {"seen": visit_plan.approval_digest(rt, visit),
                                                       "reason": "No SASSA staff that week"})
    auth.post(f"/staff/centres/changes/{ids['change']}/reject",
              {"seen": _seen_of_change(rt, o.approver, ids["change"]), "reason": "Not the centre's name"})
    cancel = visits.get(rt, ids["cancel"])
    auth.post(f"/staff/visits/{ids['cancel']}/cancel/refuse", {"seen": visit_plan.cancel_digest(rt, cancel),
                                                               "reason": "The visit goes ahead"})
    assert bc.get(rt, ids["rejected"]).status == "rejected" and visits.get(rt, ids["visit"]).status == "rejected"
    assert visits.get(rt, ids["cancel"]).cancel_requested_by is None
    return ids


