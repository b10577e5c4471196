"""Decisions on service visits without worker processes: an approval or rejection binds what
the approver saw (the visit, its exact messages), days and times no citizen should be sent
to are refused or confirmed, and a clerk's call-off of someone else's approved visit waits
for an approver (the visit staying in force) — with the reason kept."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import update

from gateway.staff import broadcasts as bc
from gateway.staff import visit_cancel, visit_plan, visits
from gateway.staff.accounts import add_staff
from gateway.store.models import Centre
from tests.broadcasting import centre_id
from tests.staff import test_visits
from tests.staff.test_visits import PHONES, deliver, kinds, sassa, seen

town, people = test_visits.town, test_visits.people  # the same fixtures: Thursday 3 Dec 2026, the rule on

# --- an approval binds what the approver saw ---------------------------------------------------

def test_a_visit_changed_since_the_approver_opened_it_is_neither_approved_nor_rejected(town, people):
    row = visits.create(town, people["clerk"], centre_id(town, "Soweto"), sassa(town, service="Home Affairs"))
    opened = seen(town, row.id)
    visits.edit(town, people["clerk"], row.id, sassa(town, service="SASSA", starts=time(11)))
    with pytest.raises(visits.Changed, match="this changed since you opened it"):
        visits.approve(town, people["approver"], row.id, opened)
    with pytest.raises(visits.Changed, match="this changed since you opened it"):
        visits.reject(town, people["approver"], row.id, "Wrong week", opened)
    assert visits.get(town, row.id).status == "pending_approval" and not visits.messages_of(town, row.id)
    assert visits.approve(town, people["approver"], row.id, seen(town, row.id)).service == "SASSA"


def test_a_change_of_an_approved_visit_waiting_for_approval_binds_the_same_way(town, people):
    first = visits.create(town, people["approver"], centre_id(town, "Soweto"), sassa(town))
    change = visits.edit(town, people["clerk"], first.id, sassa(town, starts=time(10)))
    opened = seen(town, change.id)
    visits.edit(town, people["clerk"], change.id, sassa(town, starts=time(12)))
    with pytest.raises(visits.Changed):
        visits.approve(town, people["approver"], change.id, opened)
    assert visits.get(town, first.id).status == "approved" and not visits.messages_of(town, change.id)


def test_a_renamed_centre_changes_the_notice_and_so_what_was_seen(town, people):
    soweto = centre_id(town, "Soweto")
    row = visits.create(town, people["clerk"], soweto, sassa(town))
    opened = seen(town, row.id)
    with town.sessions.begin() as s:
        s.execute(update(Centre).where(Centre.id == soweto).values(name="SMS your ID to 0820000000 Thusong"))
    with pytest.raises(visits.Changed):
        visits.approve(town, people["approver"], row.id, opened)


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_an_edit_landing_between_the_check_and_the_update_is_not_released(town, people, monkeypatch, decision):
    row = visits.create(town, people["clerk"], centre_id(town, "Soweto"), sassa(town, service="Home Affairs"))
    real = visit_plan.approval_digest

    def then_edited(rt, read):  # the clerk's edit commits just after the approver's check read the row
        found = real(rt, read)
        visits.edit(rt, people["clerk"], row.id, sassa(rt, service="SASSA", starts=time(11)))
        return found

    opened = seen(town, row.id)
    monkeypatch.setattr(visit_plan, "approval_digest", then_edited)
    with pytest.raises(visits.Changed):
        if decision == "approve":
            visits.approve(town, people["approver"], row.id, opened)
        else:
            visits.reject(town, people["approver"], row.id, "Wrong week", opened)
    assert visits.get(town, row.id).status == "pending_approval" and not visits.messages_of(town, row.id)


# --- days and times no citizen should be sent to -----------------------------------------------

@pytest.mark.parametrize("day, says", [
    (date(9999, 12, 31), "too far ahead"),
    (date(2027, 12, 5), "too far ahead"),  # a year and two days
    (date(1, 1, 1), "already over"),
], ids=["year-9999", "over-a-year", "year-0001"])
def test_a_day_out_of_range_is_refused(town, day, says):
    with pytest.raises(visits.VisitError, match=says):
        visits.check(town, "SASSA", day, time(9), time(14))


def test_a_day_a_year_ahead_is_accepted(town):
    assert visits.check(town, "SASSA", date(2027, 12, 3), time(9), time(14)).day == date(2027, 12, 3)


def test_warnings_must_be_confirmed_exactly_as_shown(town, people):
    soweto = centre_id(town, "Soweto")
    with town.sessions.begin() as s:
        s.execute(update(Centre).where(Centre.id == soweto).values(hours_mon="08:00-12:30,13:30-16:00",
                                                                   hours_sun="closed"))
    assert visits.warnings(town, soweto, sassa(town, starts=time(8), ends=time(16))) == []  # lunch inside: fine
    with pytest.raises(visits.Unconfirmed) as sunday:
        visits.create(town, people["clerk"], soweto, sassa(town, day=date(2026, 12, 6)))
    assert sunday.value.warnings == ["Sun 6 Dec is a Sunday", "the centre is closed on Sundays"]
    with pytest.raises(visits.Unconfirmed) as late:
        visits.create(town, people["clerk"], soweto, sassa(town, starts=time(15), ends=time(17)),
                      confirmed=sunday.value.digest)  # confirming other warnings confirms nothing here
    assert late.value.warnings == ["15:00-17:00 is outside the centre's hours on Mondays (08:00-12:30,13:30-16:00)"]
    row = visits.create(town, people["clerk"], soweto, sassa(town, starts=time(15), ends=time(17)),
                        confirmed=late.value.digest)
    with pytest.raises(visits.Unconfirmed, match="SASSA already visits the centre that day"):
        visits.create(town, people["approver"], soweto, sassa(town, service="sassa"))
    # A visit's own change is not a duplicate of itself, but must confirm its own warnings.
    with pytest.raises(visits.Unconfirmed, match="outside the centre's hours"):
        visits.edit(town, people["clerk"], row.id, sassa(town, starts=time(15), ends=time(16, 30)))
    assert visits.edit(town, people["clerk"], row.id, sassa(town, starts=time(13))).starts == time(13)


# --- cancelling: a reason always, an approver for a clerk's call-off of another's visit ------------

def test_a_clerks_cancel_of_someone_elses_approved_visit_waits_and_the_visit_stays(town, people):
    row = visits.create(town, people["approver"], centre_id(town, "Soweto"), sassa(town))
    sent = kinds(town, row.id)
    deliver(town, sent["notice"].id)
    with pytest.raises(visits.VisitError, match="say why"):
        visit_cancel.cancel(town, people["clerk"], row.id, "  ")
    asked = visit_cancel.cancel(town, people["clerk"], row.id, "The unit broke down")
    assert (asked.status, asked.cancel_reason, asked.cancel_requested_by) == (
        "approved", "The unit broke down", people["clerk"].staff_id)
    assert bc.get(town, sent["reminder"].id).status == "scheduled" and "correction" not in kinds(town, row.id)
    with pytest.raises(visits.WrongState, match="waits for an approver"):
        visits.edit(town, people["clerk"], row.id, sassa(town, starts=time(10)))
    colleague = bc.Actor.of(add_staff(town.sessions, "colleague@thusong.test", "c", "clerk", "long enough pw",
                                      centre_ids=[centre_id(town, "Soweto")]))
    with pytest.raises(visits.NotAllowed, match="only an approver"):
        visit_cancel.approve_cancel(town, colleague, row.id, visit_plan.cancel_digest(town, asked))
    opened = visit_plan.cancel_digest(town, asked)
    with pytest.raises(visits.Changed):  # what the approver read was a different request
        visit_cancel.approve_cancel(town, people["approver"], row.id, seen(town, row.id))
    done = visit_cancel.approve_cancel(town, people["approver"], row.id, opened)
    assert (done.status, done.cancel_reason) == ("cancelled", "The unit broke down")
    assert bc.get(town, sent["reminder"].id).status == "cancelled"
    corrected = deliver(town, kinds(town, row.id)["correction"].id)
    assert set(corrected) == set(PHONES[0:3])


def test_who_asked_cannot_decide_and_a_refusal_keeps_the_visit_with_the_reason(town, people):
    row = visits.create(town, people["approver"], centre_id(town, "Soweto"), sassa(town))
    promoted = bc.Actor(people["clerk"].staff_id, "approver")  # the same person, since made an approver
    asked = visit_cancel.cancel(town, people["clerk"], row.id, "Not needed")
    with pytest.raises(visits.NotAllowed, match="who asked"):
        visit_cancel.approve_cancel(town, promoted, row.id, visit_plan.cancel_digest(town, asked))
    kept = visit_cancel.refuse_cancel(town, people["approver"], row.id, "It is needed",
                                      visit_plan.cancel_digest(town, asked))
    assert (kept.status, kept.cancel_requested_by, kept.rejected_reason) == ("approved", None, "It is needed")
    with pytest.raises(visits.WrongState, match="no request"):
        visit_cancel.approve_cancel(town, people["approver"], row.id, visit_plan.cancel_digest(town, kept))


def test_who_needs_an_approver_to_cancel(town, people, monkeypatch):
    soweto = centre_id(town, "Soweto")
    others = visits.create(town, people["approver"], soweto, sassa(town))
    own_waiting = visits.create(town, people["clerk"], soweto, sassa(town, day=date(2026, 12, 8)))
    # The clerk's own approved visit, or one still waiting (nobody told): cancelled at once.
    assert visit_cancel.cancel(town, people["clerk"], own_waiting.id, "Typo").status == "cancelled"
    own = visits.create(town, people["clerk"], soweto, sassa(town, day=date(2026, 12, 9)))
    visits.approve(town, people["approver"], own.id, seen(town, own.id))
    assert visit_cancel.cancel(town, people["clerk"], own.id, "Moved").status == "cancelled"
    # An approver, or anyone with the rule off, cancels at once.
    monkeypatch.setattr(town, "settings", town.settings.with_(BROADCAST_APPROVAL="false"))
    assert visit_cancel.cancel(town, people["clerk"], others.id, "Off").status == "cancelled"


def test_a_change_waiting_when_a_cancel_is_asked_waits_for_the_cancel_to_be_decided(town, people):
    first = visits.create(town, people["approver"], centre_id(town, "Soweto"), sassa(town))
    change = visits.edit(town, people["clerk"], first.id, sassa(town, starts=time(10)))
    asked = visit_cancel.cancel(town, people["clerk"], first.id, "Not needed after all")
    with pytest.raises(visits.WrongState, match="waits to be cancelled"):
        visits.approve(town, people["approver"], change.id, seen(town, change.id))
    assert visits.get(town, first.id).status == "approved" and not visits.messages_of(town, change.id)
    visit_cancel.approve_cancel(town, people["approver"], first.id, visit_plan.cancel_digest(town, asked))
    assert visits.get(town, change.id).status == "cancelled"
