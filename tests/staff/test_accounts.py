"""Staff accounts: argon2 hashes, roles, the centres an account serves, disabling, resets, and
the one scoping rule (`allowed_centre_ids`) every staff page applies."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.staff.accounts import (
    Member,
    StaffError,
    add_staff,
    allowed_centre_ids,
    check_password,
    find_member,
    list_staff,
    reset_password,
    set_active,
)
from gateway.store.models import Centre, Staff

PASSWORD = "correct-horse-battery"


def centre_ids(rt, count: int) -> list[int]:
    with rt.sessions() as session:
        return list(session.scalars(select(Centre.id).order_by(Centre.id).limit(count)))


def test_password_is_stored_as_an_argon2id_hash(rt):
    add_staff(rt.sessions, "Admin@Example.org", "Ada", "admin", PASSWORD)
    with rt.sessions() as session:
        row = session.scalar(select(Staff))
    assert row.email == "admin@example.org"
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    assert check_password(rt.sessions, " ADMIN@example.org ", PASSWORD).email == "admin@example.org"
    assert check_password(rt.sessions, "admin@example.org", PASSWORD + "x") is None
    assert check_password(rt.sessions, "nobody@example.org", PASSWORD) is None


def test_a_clerk_serves_several_centres(seeded):
    first, second = centre_ids(seeded, 2)
    member = add_staff(seeded.sessions, "clerk@example.org", "", "clerk", PASSWORD, [first, second])
    assert member.centre_ids == {first, second}
    assert member.name == "clerk"  # the address's local part
    assert find_member(seeded.sessions, "clerk@example.org").centre_ids == {first, second}


@pytest.mark.parametrize("email, role, centres, message", [
    ("not-an-address", "admin", [], "not an email address"),
    ("a@example.org", "boss", [], "role must be one of"),
    ("a@example.org", "clerk", [], "a clerk needs at least one centre"),
    ("a@example.org", "clerk", [987654], "no centre with id 987654"),
], ids=["bad email", "bad role", "clerk without centre", "unknown centre"])
def test_refusals_say_why(rt, email, role, centres, message):
    with pytest.raises(StaffError, match=message):
        add_staff(rt.sessions, email, "X", role, PASSWORD, centres)


def test_short_password_and_duplicate_are_refused(rt):
    with pytest.raises(StaffError, match="at least 10 characters"):
        add_staff(rt.sessions, "a@example.org", "A", "admin", "short")
    add_staff(rt.sessions, "a@example.org", "A", "admin", PASSWORD)
    with pytest.raises(StaffError, match="already has an account"):
        add_staff(rt.sessions, "A@example.org", "A", "approver", PASSWORD)


def test_disabled_account_cannot_log_in_and_can_be_enabled(rt):
    add_staff(rt.sessions, "a@example.org", "A", "approver", PASSWORD)
    assert set_active(rt.sessions, "a@example.org", False).active is False
    assert check_password(rt.sessions, "a@example.org", PASSWORD) is None
    set_active(rt.sessions, "a@example.org", True)
    assert check_password(rt.sessions, "a@example.org", PASSWORD) is not None
    with pytest.raises(StaffError, match="no staff account"):
        set_active(rt.sessions, "nobody@example.org", False)


def test_reset_password_changes_the_stamp(rt):
    before = add_staff(rt.sessions, "a@example.org", "A", "admin", PASSWORD)
    after = reset_password(rt.sessions, "a@example.org", "another-long-password")
    assert after.stamp != before.stamp
    assert check_password(rt.sessions, "a@example.org", PASSWORD) is None
    assert check_password(rt.sessions, "a@example.org", "another-long-password") is not None
    assert [m.email for m in list_staff(rt.sessions)] == ["a@example.org"]


def _member(role: str, centres: set[int]) -> Member:
    return Member(1, "x@example.org", "X", role, frozenset(centres), True, "stamp")


@pytest.mark.parametrize("role, centres, allowed", [
    ("admin", set(), None),
    ("admin", {1}, None),
    ("approver", set(), None),
    ("approver", {2, 3}, {2, 3}),
    ("clerk", {4, 5}, {4, 5}),
    ("clerk", set(), set()),
], ids=["admin", "admin with centres", "approver of all", "approver of some", "clerk", "clerk of none"])
def test_allowed_centre_ids(role, centres, allowed):
    assert allowed_centre_ids(_member(role, centres)) == allowed
