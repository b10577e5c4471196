"""Which offices a centre has, set by staff: a clerk only for their own centres (the same
answer as a centre that does not exist), admins any; an unknown office code refused; each
change audited as ``centre.edited`` with the field ``offices``, old and new."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from gateway.dialogue.offices import centre_offices
from gateway.staff import audit
from gateway.staff.accounts import add_staff
from gateway.staff.centre_offices import set_offices
from gateway.staff.centres import CentreError, CentreNotFound
from gateway.store.models import Centre
from tests.conftest import PASSWORD


@pytest.fixture
def two(seeded) -> tuple[int, int]:
    with seeded.sessions() as s:
        ids = list(s.scalars(select(Centre.id).order_by(Centre.id).limit(2)))
    return ids[0], ids[1]


def _codes(rt, centre_id: int) -> list[str]:
    return [o.code for o in centre_offices(rt, centre_id)]


def test_a_clerk_sets_their_centres_offices_audited_old_and_new(seeded, two):
    mine, _other = two
    clerk = add_staff(seeded.sessions, "clerk@example.org", "Clerk", "clerk", PASSWORD, [mine])
    assert set_offices(seeded, clerk, mine, ["sassa", "HA"]) == {"offices": [[], ["HA", "SASSA"]]}
    assert _codes(seeded, mine) == ["HA", "SASSA"]
    assert set_offices(seeded, clerk, mine, ["HA", "SASSA"]) == {}  # nothing changed: no row
    set_offices(seeded, clerk, mine, ["POST"])
    rows = audit.events(seeded.sessions, "centre.edited").events
    assert [json.loads(r.detail) for r in rows][::-1] == [{"offices": [[], ["HA", "SASSA"]]},
                                              {"offices": [["HA", "SASSA"], ["POST"]]}]
    assert _codes(seeded, mine) == ["POST"]


def test_a_clerk_cannot_set_another_centres_offices(seeded, two):
    mine, other = two
    clerk = add_staff(seeded.sessions, "clerk@example.org", "Clerk", "clerk", PASSWORD, [mine])
    with pytest.raises(CentreNotFound):
        set_offices(seeded, clerk, other, ["HA"])
    assert _codes(seeded, other) == []
    assert audit.events(seeded.sessions, "centre.edited").total == 0


def test_an_admin_sets_any_centre_and_an_unknown_office_is_refused(seeded, two):
    _mine, other = two
    admin = add_staff(seeded.sessions, "admin@example.org", "Admin", "admin", PASSWORD, [])
    set_offices(seeded, admin, other, ["HA"])
    with pytest.raises(CentreError, match="unknown office 'Home Affairs'") as refused:
        set_offices(seeded, admin, other, ["SASSA", "Home Affairs"])
    assert refused.value.field == "offices"
    assert _codes(seeded, other) == ["HA"]
    assert audit.events(seeded.sessions, "centre.edited").total == 1
