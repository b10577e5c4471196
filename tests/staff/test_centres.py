"""The centre functions of the staff layer called directly, as the CLI and any future page
would: a clerk's scope holds inside :func:`edit_centre` itself (not only in the web view's
lookup), and the decisions on a held centre change check role, author, name and binding."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.staff import centre_changes
from gateway.staff.accounts import add_staff
from gateway.staff.centres import CentreNotFound, edit_centre, get_centre
from gateway.store.models import Centre, CentreChange
from tests.conftest import PASSWORD


def values_of(record, **changes) -> dict:
    """The edit form's values for a centre as stored, with ``changes``."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return {"name": record.name, "address": record.address, "phone": record.phone, "latitude": record.latitude,
            "longitude": record.longitude, "active": record.active, "services": set(record.services),
            **{f"hours_{d}": h for d, h in zip(days, record.hours, strict=True)}, **changes}


def two_centres(rt) -> tuple[int, int]:
    with rt.sessions() as s:
        mine, other = s.scalars(select(Centre.id).order_by(Centre.id).limit(2))
    return mine, other


_accounts = itertools.count(1)


def staff(rt, role: str, centres=(), email: str | None = None):
    """A new account (each call another person)."""
    return add_staff(rt.sessions, email or f"{role}{next(_accounts)}@example.org", role.title(), role, PASSWORD,
                     centres)


def test_edit_centre_refuses_a_clerk_another_centre(seeded):
    mine, other = two_centres(seeded)
    clerk, admin = staff(seeded, "clerk", [mine]), staff(seeded, "admin")
    record = get_centre(seeded, admin, other)
    with pytest.raises(CentreNotFound):
        edit_centre(seeded, clerk, other, values_of(record, name="Hijacked Thusong", phone="082 555 0199"))
    assert get_centre(seeded, admin, other) == record


@pytest.fixture
def held(seeded, monkeypatch):
    """A clerk's new name for their centre, waiting for approval: (rt, centre id, clerk, change id)."""
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BROADCAST_APPROVAL="true"))
    mine, _other = two_centres(seeded)
    clerk = staff(seeded, "clerk", [mine])
    edit = edit_centre(seeded, clerk, mine, values_of(get_centre(seeded, clerk, mine), name="Renamed Thusong Centre"))
    assert list(edit.waiting) == ["name"] and not edit.applied
    [change] = centre_changes.pending_changes(seeded, staff(seeded, "admin"))
    return seeded, mine, clerk, change


def test_only_an_approver_or_admin_who_did_not_write_it_may_decide(held, monkeypatch):
    rt, mine, clerk, change = held
    other_clerk = staff(rt, "clerk", [mine], email="second-clerk@example.org")
    for who in (clerk, other_clerk):
        with pytest.raises(centre_changes.NotAllowed):
            centre_changes.approve(rt, who, change.id, change.seen)
    # The author, made an approver since, still may not decide their own change.
    promoted = dataclasses.replace(clerk, role="approver")
    with pytest.raises(centre_changes.NotAllowed, match="someone else must"):
        centre_changes.approve(rt, promoted, change.id, change.seen)
    assert centre_changes.waiting_for(rt, promoted) == 0  # nothing for them to decide
    with pytest.raises(centre_changes.NotFound):
        centre_changes.approve(rt, staff(rt, "approver", [two_centres(rt)[1]]), change.id, change.seen)
    assert get_centre(rt, staff(rt, "admin"), mine).name != "Renamed Thusong Centre"
    approved = centre_changes.approve(rt, staff(rt, "approver", email="a2@example.org"), change.id, change.seen)
    assert approved.status == "approved" and rt.browse.centre(mine).name == "Renamed Thusong Centre"


def test_an_admins_edit_of_the_text_meanwhile_makes_the_approval_stale(held):
    rt, mine, _clerk, change = held
    admin = staff(rt, "admin")
    edit_centre(rt, admin, mine, values_of(get_centre(rt, admin, mine), phone="011 555 0101"))
    with pytest.raises(centre_changes.Stale, match="this changed since you opened it"):
        centre_changes.approve(rt, staff(rt, "approver"), change.id, change.seen)
    [fresh] = centre_changes.pending_changes(rt, admin)
    assert fresh.diff == {"name": (change.diff["name"][0], "Renamed Thusong Centre"),
                          "phone": ("011 555 0101", None)}  # the approver now sees the phone would go too


def test_an_already_decided_change_says_so(held):
    rt, _mine, _clerk, change = held
    centre_changes.reject(rt, staff(rt, "approver"), change.id, change.seen, "no")
    with pytest.raises(centre_changes.Stale, match="it was rejected meanwhile"):
        centre_changes.approve(rt, staff(rt, "admin"), change.id, change.seen)


def test_a_name_another_centre_took_meanwhile_is_not_approved(held):
    rt, mine, _clerk, change = held
    admin = staff(rt, "admin")
    other = two_centres(rt)[1]
    edit_centre(rt, admin, other, values_of(get_centre(rt, admin, other), name="Renamed Thusong Centre"))
    with pytest.raises(centre_changes.ChangeError, match="another centre has that name now"):
        centre_changes.approve(rt, staff(rt, "approver"), change.id, change.seen)
    assert get_centre(rt, admin, mine).name != "Renamed Thusong Centre"


def test_a_rejection_needs_a_reason(held):
    rt, _mine, _clerk, change = held
    with pytest.raises(centre_changes.ChangeError, match="needs a reason"):
        centre_changes.reject(rt, staff(rt, "approver"), change.id, change.seen, "  ")


def test_a_centre_has_at_most_one_pending_change(held):
    rt, mine, clerk, _change = held
    with pytest.raises(IntegrityError), rt.sessions.begin() as s:
        s.add(CentreChange(centre_id=mine, status="pending", version=1, author_id=clerk.id, name="Second"))
