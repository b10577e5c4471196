"""The audit log: one row per action, newest first, paged, filtered by action or family."""

from __future__ import annotations

import json

import pytest

from gateway.staff import audit
from gateway.staff.accounts import add_staff


def test_record_keeps_who_what_where(rt):
    member = add_staff(rt.sessions, "a@example.org", "A", "admin", "correct-horse-battery")
    audit.record(rt, member, "staff.added", target="b@example.org", address="10.0.0.9", detail={"role": "clerk"})
    audit.record(rt.sessions, "cli", "staff.disabled", target="b@example.org")
    newest, oldest = audit.events(rt.sessions).events
    assert (newest.actor, newest.staff_id, newest.action) == ("cli", None, "staff.disabled")
    assert (oldest.actor, oldest.staff_id, oldest.address) == ("a@example.org", member.id, "10.0.0.9")
    assert json.loads(oldest.detail) == {"role": "clerk"} and oldest.at is not None


def test_record_in_an_open_session_joins_its_transaction(rt):
    with rt.sessions() as session:
        audit.record(session, "cli", "csv.imported")
        session.rollback()
    assert audit.events(rt.sessions).total == 0
    with rt.sessions.begin() as session:
        audit.record(session, "cli", "csv.imported")
    assert audit.events(rt.sessions).total == 1


def test_unknown_action_is_refused(rt):
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(rt, "cli", "staff.teleported")


def test_pages_newest_first_and_filters(rt):
    for n in range(7):
        audit.record(rt, "cli", "login.failed" if n % 2 else "broadcast.created", target=str(n))
    audit.record(rt, "cli", "broadcast.sent", target="7")
    page = audit.events(rt.sessions, per_page=3)
    assert (page.total, page.pages, [e.target for e in page.events]) == (8, 3, ["7", "6", "5"])
    last = audit.events(rt.sessions, page=99, per_page=3)
    assert (last.number, [e.target for e in last.events]) == (3, ["1", "0"])
    assert [e.target for e in audit.events(rt.sessions, "login.failed").events] == ["5", "3", "1"]
    assert [e.target for e in audit.events(rt.sessions, "broadcast").events] == ["7", "6", "4", "2", "0"]


def test_every_audited_action_is_named_in_the_staff_safety_page():
    """docs/staff-safety.md says what is audited: a new action must be added there too."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "staff-safety.md").read_text(encoding="utf-8")
    missing = [action for action in audit.ACTIONS if f"`{action}`" not in page]
    assert not missing, missing
