"""A mobile number on staff accounts (issue 19): optional, E.164 as citizens' numbers are,
one account per number, and the look-up by number that staff texts will use (active accounts
only)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.staff.accounts import (
    StaffError,
    add_staff,
    find_member,
    member_by_phone,
    set_active,
    set_phone,
)
from gateway.store.models import Staff

PASSWORD = "correct-horse-battery"


def test_a_phone_is_stored_in_e164(rt):
    member = add_staff(rt.sessions, "a@example.org", "A", "admin", PASSWORD, phone="082 123 4567")
    assert member.phone == "+27821234567"
    with rt.sessions() as session:
        assert session.scalar(select(Staff.phone)) == "+27821234567"
    assert add_staff(rt.sessions, "b@example.org", "B", "approver", PASSWORD).phone is None
    assert add_staff(rt.sessions, "c@example.org", "C", "approver", PASSWORD, phone="  ").phone is None


@pytest.mark.parametrize("raw, message", [
    ("082 ABC 4567", "only digits"),
    ("0" * 200, "not a"),
    ("12", "not a"),
    ("082\x001234567", "only digits"),
], ids=["letters", "200 characters", "too short", "NUL"])
def test_a_bad_phone_is_refused_saying_why(rt, raw, message):
    with pytest.raises(StaffError, match=message):
        add_staff(rt.sessions, "a@example.org", "A", "admin", PASSWORD, phone=raw)
    with rt.sessions() as session:
        assert session.scalar(select(Staff)) is None


def test_two_accounts_cannot_share_a_phone(rt):
    add_staff(rt.sessions, "a@example.org", "A", "admin", PASSWORD, phone="0821234567")
    with pytest.raises(StaffError, match=r"\+2782\*\*\*\*567 is already the phone of a@example.org"):
        add_staff(rt.sessions, "b@example.org", "B", "approver", PASSWORD, phone="+27 82 123 4567")
    add_staff(rt.sessions, "b@example.org", "B", "approver", PASSWORD)
    with pytest.raises(StaffError, match="already the phone of a@example.org"):
        set_phone(rt.sessions, "b@example.org", "27821234567")
    assert find_member(rt.sessions, "b@example.org").phone is None
    # Setting an account's own number again is no clash.
    assert set_phone(rt.sessions, "a@example.org", "082 123 4567").member.phone == "+27821234567"


def test_set_and_clear_say_what_changed(rt):
    add_staff(rt.sessions, "a@example.org", "A", "admin", PASSWORD)
    change = set_phone(rt.sessions, "A@example.org", "0821234567")
    assert (change.before, change.member.phone) == (None, "+27821234567")
    assert change.detail == {"field": "phone", "from": None, "to": "+2782****567"}
    cleared = set_phone(rt.sessions, "a@example.org", None)
    assert (cleared.before, cleared.member.phone) == ("+27821234567", None)
    assert cleared.detail == {"field": "phone", "from": "+2782****567", "to": None}
    assert cleared.changed and not set_phone(rt.sessions, "a@example.org", "").changed
    with pytest.raises(StaffError, match="no staff account"):
        set_phone(rt.sessions, "nobody@example.org", "0821234567")


def test_member_by_phone_finds_active_accounts_only(rt):
    add_staff(rt.sessions, "a@example.org", "A", "admin", PASSWORD, phone="0821234567")
    add_staff(rt.sessions, "b@example.org", "B", "approver", PASSWORD, phone="0831234567")
    assert member_by_phone(rt, "+27821234567").email == "a@example.org"
    assert member_by_phone(rt, "+27841234567") is None
    set_active(rt.sessions, "b@example.org", False)
    assert member_by_phone(rt, "+27831234567") is None
    set_active(rt.sessions, "b@example.org", True)
    assert member_by_phone(rt, "+27831234567").email == "b@example.org"


def test_the_database_refuses_a_shared_phone_too(rt):
    """The last guard when two admins give the same number at the same moment."""
    add_staff(rt.sessions, "a@example.org", "A", "admin", PASSWORD, phone="0821234567")
    with pytest.raises(IntegrityError), rt.sessions.begin() as session:
        session.add(Staff(email="b@example.org", name="B", role="admin", password_hash="x", phone="+27821234567"))
