"""The dashboard's offices: the centre page ticks which offices a centre has (applied at once,
audited, also for a clerk under the two-person rule), and the "Offices today" page shows each
office's state and sets it in one form per office (a reason, then Up / Slow / Down) — a clerk
only for their own centres (404 otherwise), admins any; an office the centre lacks, an unknown
state or reason is a form error and nothing is written."""

from __future__ import annotations

import html
import json

import pytest
from sqlalchemy import select

from gateway.dialogue.office_status import current
from gateway.dialogue.offices import centre_offices
from gateway.staff import audit
from gateway.staff.centre_offices import set_offices
from gateway.store.models import Centre
from tests.web.test_staff_centres import form_of


@pytest.fixture
def two(seeded) -> tuple[int, int]:
    with seeded.sessions() as s:
        mine, other = s.scalars(select(Centre.id).order_by(Centre.id).limit(2))
    set_offices(seeded, audit.CLI, mine, ["HA", "SASSA"])
    set_offices(seeded, audit.CLI, other, ["HA"])
    return mine, other


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _statuses(rt) -> list[tuple]:
    return [(s.centre_id, s.office, s.state, s.reason, s.via) for s in current(rt)]


def test_the_centre_page_ticks_the_offices_at_once_for_a_held_clerk(seeded, auth, client, two, monkeypatch):
    mine, _other = two
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BROADCAST_APPROVAL="true"))
    auth.as_role("clerk", [mine])
    page = _page(client.get(f"/staff/centres/{mine}"))
    assert 'name="offices" value="HA" checked' in page and 'name="offices" value="POST" >' in page
    assert f'href="/staff/centres/{mine}/offices"' in page
    with seeded.sessions() as s:
        name = s.get(Centre, mine).name
    response = auth.post(f"/staff/centres/{mine}", form_of(seeded, mine, offices=["HA", "POST"], name="Renamed"))
    assert response.status_code == 302, _page(response)
    with seeded.sessions() as s:
        assert s.get(Centre, mine).name == name  # the name waits for an approver; the offices do not
    assert [o.code for o in centre_offices(seeded, mine)] == ["HA", "POST"]
    edited = audit.events(seeded.sessions, "centre.edited").events
    assert [json.loads(e.detail) for e in edited][0] == {"offices": [["HA", "SASSA"], ["HA", "POST"]]}
    shown = _page(client.get(response.headers["Location"]))
    assert "Saved" in shown and "offices" in shown and "waits for an approver" in shown


def test_an_unknown_office_on_the_centre_page_is_a_form_error(seeded, auth, client, two):
    mine, _other = two
    auth.as_role("admin")
    response = auth.post(f"/staff/centres/{mine}", form_of(seeded, mine, offices=["HA", "XX"], name="Renamed"))
    assert response.status_code == 200 and "unknown office 'XX'" in _page(response)
    assert [o.code for o in centre_offices(seeded, mine)] == ["HA", "SASSA"]
    with seeded.sessions() as s:
        assert s.get(Centre, mine).name != "Renamed"


def test_a_clerk_sets_an_office_down_with_a_reason(seeded, auth, client, two):
    mine, _other = two
    auth.as_role("clerk", [mine])
    home = _page(client.get("/staff/"))
    assert f'href="/staff/centres/{mine}/offices"' in home
    page = _page(client.get(f"/staff/centres/{mine}/offices"))
    assert "Home Affairs" in page and "SASSA" in page and "no news" in page
    assert 'value="offline"' in page and "system offline" in page
    response = auth.post(f"/staff/centres/{mine}/offices", {"office": "HA", "state": "down", "reason": "offline"})
    assert response.status_code == 302
    shown = _page(client.get(response.headers["Location"]))
    assert "Home Affairs: DOWN – system offline" in shown and "until midnight" in shown
    assert _statuses(seeded) == [(mine, "HA", "down", "offline", "dashboard")]
    (row,) = audit.events(seeded.sessions, "office.status_set").events
    assert row.target == f"centre {mine} HA"
    auth.post(f"/staff/centres/{mine}/offices", {"office": "SASSA", "state": "up", "reason": ""})
    assert _statuses(seeded)[1] == (mine, "SASSA", "up", None, "dashboard")


def test_a_clerk_cannot_see_or_set_another_centres_offices(seeded, auth, client, two):
    mine, other = two
    auth.as_role("clerk", [mine])
    assert client.get(f"/staff/centres/{other}/offices").status_code == 404
    response = auth.post(f"/staff/centres/{other}/offices", {"office": "HA", "state": "down"})
    assert response.status_code == 404
    assert _statuses(seeded) == [] and audit.events(seeded.sessions, "office.status_set").total == 0


def test_approvers_follow_the_scope_rules(seeded, auth, client, two):
    mine, other = two
    auth.as_role("approver", [mine])
    assert client.get(f"/staff/centres/{mine}/offices").status_code == 200
    assert client.get(f"/staff/centres/{other}/offices").status_code == 404
    auth.logout()
    auth.as_role("approver", email="every@example.org")  # no centre listed: every centre
    assert auth.post(f"/staff/centres/{other}/offices", {"office": "HA", "state": "slow"}).status_code == 302
    assert _statuses(seeded) == [(other, "HA", "slow", None, "dashboard")]


@pytest.mark.parametrize("data, says", [
    ({"office": "POST", "state": "down"}, "has no POST office"),
    ({"office": "XX", "state": "down"}, "unknown office 'XX'"),
    ({"office": "HA", "state": "broken"}, "unknown state 'broken'"),
    ({"office": "HA", "state": "down", "reason": "the system is offline"}, "unknown reason"),
    ({"office": "", "state": "down"}, "Choose an office"),
    ({"office": "HA" * 40, "state": "down"}, "cannot be longer than 20 characters"),
], ids=["not at the centre", "unknown office", "unknown state", "typed reason", "no office", "long office"])
def test_a_refused_status_is_a_form_error_and_nothing_is_written(seeded, auth, client, two, data, says):
    mine, _other = two
    auth.as_role("admin")
    response = auth.post(f"/staff/centres/{mine}/offices", data)
    assert response.status_code == 200 and says in _page(response), _page(response)[-2000:]
    assert _statuses(seeded) == [] and audit.events(seeded.sessions, "office.status_set").total == 0
