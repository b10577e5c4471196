"""Offices' live status: set for an office the centre has (refused otherwise), a clerk only for
their own centres, read back without expired ones (the end of the SAST day by default, with an
injected clock), a newer report always wins, history kept, every change audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.dialogue import office_status
from gateway.dialogue.office_status import end_of_day
from gateway.dialogue.offices import OfficeError, centre_offices
from gateway.directory.centre_csv import import_centres
from gateway.staff import audit
from gateway.staff.accounts import StaffError, add_staff, get_member, set_active
from gateway.staff.office_status import set_status, statuses
from gateway.store.models import Centre
from tests.conftest import PASSWORD

# 09:12 SAST on a Monday
MORNING = datetime(2026, 3, 2, 7, 12, tzinfo=UTC)
CSV = "name,province,town,offices\nAlpha Thusong,Gauteng,Soweto,HA;SASSA\nBeta Thusong,Gauteng,Soweto,POST\n"


@pytest.fixture
def centres(rt) -> tuple[int, int]:
    assert not import_centres(rt.sessions, CSV, rt.gazetteer).rejected
    with rt.sessions() as s:
        ids = dict(s.execute(select(Centre.name, Centre.id)).all())
    return ids["Alpha Thusong"], ids["Beta Thusong"]


def test_set_and_read_back_with_who_and_when(rt, centres):
    alpha, beta = centres
    status = set_status(rt, audit.CLI, alpha, "ha", "DOWN", "offline", now=MORNING)
    assert (status.office, status.state, status.reason, status.staff_id, status.via) == ("HA", "down", "offline", None, "cli")
    set_status(rt, audit.CLI, beta, "POST", "slow", now=MORNING)
    shown = [(s.centre_id, s.office, s.state, s.reason) for s in statuses(rt, audit.CLI, now=MORNING)]
    assert shown == [(alpha, "HA", "down", "offline"), (beta, "POST", "slow", None)]
    assert [s.office for s in statuses(rt, audit.CLI, beta, now=MORNING)] == ["POST"]
    assert [o.code for o in centre_offices(rt, alpha)] == ["HA", "SASSA"]


def test_an_office_the_centre_lacks_and_unknown_words_are_refused(rt, centres):
    alpha, _beta = centres
    with pytest.raises(OfficeError, match="has no POST office"):
        set_status(rt, audit.CLI, alpha, "POST", "down", now=MORNING)
    with pytest.raises(OfficeError, match="unknown office"):
        set_status(rt, audit.CLI, alpha, "Home Affairs", "down", now=MORNING)
    with pytest.raises(OfficeError, match="unknown state"):
        set_status(rt, audit.CLI, alpha, "HA", "broken", now=MORNING)
    with pytest.raises(OfficeError, match=r"unknown reason 'the system is offline': use one of offline \(system offline\)"):
        set_status(rt, audit.CLI, alpha, "HA", "down", "the system is offline", now=MORNING)
    with pytest.raises(OfficeError, match="no centre"):
        set_status(rt, audit.CLI, max(centres) + 1000, "HA", "down", now=MORNING)
    assert statuses(rt, audit.CLI, now=MORNING) == []
    assert audit.events(rt.sessions, "office.status_set").total == 0


def test_a_clerk_sets_only_their_own_centres(rt, centres):
    alpha, beta = centres
    clerk = add_staff(rt.sessions, "clerk@example.org", "Clerk", "clerk", PASSWORD, [beta])
    with pytest.raises(StaffError, match=f"centre {alpha} is not one of yours"):
        set_status(rt, clerk, alpha, "HA", "down", now=MORNING)
    with pytest.raises(StaffError, match="not one of yours"):
        statuses(rt, clerk, alpha, now=MORNING)
    status = set_status(rt, clerk, beta, "POST", "down", "closed", now=MORNING)
    assert (status.staff_id, status.via) == (clerk.id, "dashboard")
    set_status(rt, audit.CLI, alpha, "HA", "down", now=MORNING)
    assert [s.centre_id for s in statuses(rt, clerk, now=MORNING)] == [beta]  # not alpha's
    set_active(rt.sessions, clerk.email, False)
    with pytest.raises(StaffError, match="disabled"):  # a stale tab of a disabled account
        set_status(rt, get_member(rt.sessions, clerk.id), beta, "POST", "up", now=MORNING)


def test_a_status_expires_at_the_end_of_the_sast_day(rt, centres):
    alpha, _beta = centres
    late = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)  # 23:30 SAST: still Monday there
    assert end_of_day(MORNING) == end_of_day(late) == datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
    after_midnight = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # 00:30 SAST Tuesday, still Monday in UTC
    assert end_of_day(after_midnight) == datetime(2026, 3, 3, 22, 0, tzinfo=UTC)
    set_status(rt, audit.CLI, alpha, "HA", "down", now=MORNING)
    assert [s.state for s in statuses(rt, audit.CLI, alpha, now=late)] == ["down"]
    midnight = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 00:00 SAST Tuesday
    assert statuses(rt, audit.CLI, alpha, now=midnight - timedelta(seconds=1)) != []
    assert statuses(rt, audit.CLI, alpha, now=midnight) == []  # no news
    with pytest.raises(OfficeError, match="expire"):
        set_status(rt, audit.CLI, alpha, "HA", "up", now=MORNING, expires_at=MORNING)


def test_a_newer_report_wins_and_history_is_kept(rt, centres):
    alpha, _beta = centres
    set_status(rt, audit.CLI, alpha, "HA", "down", "offline", now=MORNING,
               expires_at=MORNING + timedelta(days=2))
    set_status(rt, audit.CLI, alpha, "HA", "up", now=MORNING + timedelta(hours=2))
    after = MORNING + timedelta(hours=3)
    assert [s.state for s in statuses(rt, audit.CLI, alpha, now=MORNING + timedelta(hours=1))] == ["down"]  # as it was then
    assert [s.state for s in statuses(rt, audit.CLI, alpha, now=after)] == ["up"]
    tomorrow = MORNING + timedelta(days=1)
    assert statuses(rt, audit.CLI, alpha, now=tomorrow) == []  # the older, longer "down" does not come back
    assert [s.state for s in office_status.history(rt, alpha)] == ["down", "up"]
    import_centres(rt.sessions, "name,province,town,offices\nAlpha Thusong,Gauteng,Soweto,SASSA\n", rt.gazetteer)
    assert statuses(rt, audit.CLI, alpha, now=after) == []  # an office the centre no longer has


def test_every_change_is_audited_with_its_actor(rt, centres):
    alpha, beta = centres
    clerk = add_staff(rt.sessions, "clerk@example.org", "Clerk", "clerk", PASSWORD, [beta])
    set_status(rt, audit.CLI, alpha, "SASSA", "slow", "queue", now=MORNING)
    set_status(rt, clerk, beta, "POST", "down", "no_forms", now=MORNING, address="192.0.2.7")
    events = audit.events(rt.sessions, "office.status_set").events
    assert [(e.actor, e.staff_id, e.target, e.address) for e in events] == [
        ("clerk@example.org", clerk.id, f"centre {beta} POST", "192.0.2.7"),
        ("cli", None, f"centre {alpha} SASSA", None)]
    assert json.loads(events[1].detail) == {"state": "slow", "reason": "queue", "via": "cli",
                                            "expires_at": "2026-03-02T22:00:00+00:00"}
