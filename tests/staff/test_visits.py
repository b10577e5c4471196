"""Service visits without worker processes: when the reminder goes (quiet hours, injected
times), what approval, an edit and a cancel send and to whom, and who may do what."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from gateway import jobs
from gateway.clock import FrozenClock
from gateway.sms import sending
from gateway.sms.quiet_hours import CPA, SAST, fixed_windows_setting, schedule_from_setting
from gateway.staff import broadcasts as bc
from gateway.staff import visit_cancel, visit_plan, visits
from gateway.staff.accounts import add_staff
from gateway.store.models import Message
from tests.broadcasting import add_subscribers, centre_id


def sast(*args) -> datetime:
    return datetime(*args, tzinfo=SAST)


# --- when the reminder goes: a pure function of injected times ----------------------------------

REMINDERS = [
    # (visit day, notice goes at, the reminder's window (start, end) it must fall in, weekday)
    ("monday-visit-saturday-reminder", date(2026, 12, 7), sast(2026, 12, 3, 10, 0),
     (sast(2026, 12, 5, 9, 0), sast(2026, 12, 5, 13, 0)), "Sat"),
    ("wednesday-visit-tuesday-reminder", date(2026, 12, 9), sast(2026, 12, 3, 10, 0),
     (sast(2026, 12, 8, 8, 0), sast(2026, 12, 8, 20, 0)), "Tue"),
    # Wed 16 Dec is the Day of Reconciliation: the last window before Thursday is Tuesday's.
    ("day-after-reconciliation-day", date(2026, 12, 17), sast(2026, 12, 10, 10, 0),
     (sast(2026, 12, 15, 8, 0), sast(2026, 12, 15, 20, 0)), "Tue"),
    # Easter 2027: Good Friday 26 Mar, Sunday, Family Day Mon 29 Mar: Saturday's window.
    ("day-after-family-day", date(2027, 3, 30), sast(2027, 3, 22, 10, 0),
     (sast(2027, 3, 27, 9, 0), sast(2027, 3, 27, 13, 0)), "Sat"),
    # Christmas Fri 25, Day of Goodwill Sat 26, Sunday 27: Thursday the 24th.
    ("monday-after-christmas", date(2026, 12, 28), sast(2026, 12, 21, 10, 0),
     (sast(2026, 12, 24, 8, 0), sast(2026, 12, 24, 20, 0)), "Thu"),
]


@pytest.mark.parametrize("day, notice_at, window, weekday", [r[1:] for r in REMINDERS], ids=[r[0] for r in REMINDERS])
def test_the_reminder_goes_in_the_last_window_before_the_visit(day, notice_at, window, weekday):
    at = visits.reminder_at(day, notice_at, CPA)
    assert at is not None
    local = at.astimezone(SAST)
    assert window[0] <= at < window[1] and local.strftime("%a") == weekday, local
    assert local.time() == visits.REMINDER_TIME  # mid-morning fits every one of these windows


@pytest.mark.parametrize("day, notice_at", [
    (date(2026, 12, 9), sast(2026, 12, 8, 9, 0)),  # approved the morning before: the notice is enough
    (date(2026, 12, 7), sast(2026, 12, 5, 12, 0)),  # Saturday noon for Monday: the same window
    (date(2026, 12, 7), sast(2026, 12, 6, 12, 0)),  # Sunday (the notice waits for Monday 08:00)
    (date(2026, 12, 3), sast(2026, 12, 3, 10, 0)),  # the visit is today
    (date(2026, 12, 9), sast(2026, 12, 8, 8, 0)),  # the notice goes the moment Tuesday's window opens
], ids=["day-before", "same-saturday-window", "after-the-last-window", "today", "as-the-window-opens"])
def test_no_reminder_when_the_notice_goes_in_or_after_the_reminders_window(day, notice_at):
    assert visits.reminder_at(day, notice_at, CPA) is None


def test_a_reminder_is_kept_inside_a_window_that_does_not_hold_ten_oclock():
    now = sast(2026, 12, 6, 15, 0)  # a fixed schedule (tests, operations) replaces the rule
    schedule = schedule_from_setting(fixed_windows_setting([
        (now - timedelta(minutes=1), now + timedelta(seconds=5)),
        (now + timedelta(seconds=10), now + timedelta(seconds=70))]))
    assert visits.reminder_at(date(2026, 12, 8), now, schedule) == now + timedelta(seconds=10)
    late = schedule_from_setting(fixed_windows_setting([(sast(2026, 12, 7, 6, 0), sast(2026, 12, 7, 20, 0))]))
    assert visits.reminder_at(date(2026, 12, 8), now, late) == sast(2026, 12, 7, 10, 0)
    short = schedule_from_setting(fixed_windows_setting([(sast(2026, 12, 7, 14, 0), sast(2026, 12, 7, 20, 0))]))
    assert visits.reminder_at(date(2026, 12, 8), now, short) == sast(2026, 12, 7, 14, 0)


# --- approval, reminder, cancel, edit (in process, clock frozen, the CPA rule) -------------------

PHONES = [f"+2782400{i:04d}" for i in range(6)]
THURSDAY = sast(2026, 12, 3, 10, 0)
MONDAY = date(2026, 12, 7)


@pytest.fixture
def town(seeded, monkeypatch):
    """Soweto with three subscribers and one in Worcester; Thursday 3 Dec 2026 10:00, the CPA
    quiet hours, the two-person rule on."""
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BULK_SCHEDULE="", BROADCAST_APPROVAL="true"))
    monkeypatch.setattr(seeded, "clock", FrozenClock(THURSDAY))
    add_subscribers(seeded, PHONES[0:3], centre_id(seeded, "Soweto"))
    add_subscribers(seeded, PHONES[5:6], centre_id(seeded, "Worcester"))
    return seeded


@pytest.fixture
def people(town):
    soweto = centre_id(town, "Soweto")
    made = {}
    for role in ("clerk", "approver"):
        member = add_staff(town.sessions, f"{role}@thusong.test", role, role, "long enough pw",
                           centre_ids=[soweto] if role == "clerk" else [])
        made[role] = bc.Actor.of(member)
    made["other_clerk"] = bc.Actor.of(add_staff(town.sessions, "worcester@thusong.test", "w", "clerk", "long enough pw",
                                                centre_ids=[centre_id(town, "Worcester")]))
    return made


def sassa(rt, day: date = MONDAY, starts: time = time(9), ends: time = time(14), service: str = "SASSA"):
    return visits.check(rt, service, day, starts, ends)


def deliver(rt, broadcast_id: int) -> dict[str, str]:
    """Run a broadcast's fan-out and the bulk sender in process; phone → text it got."""
    bc.fan_out(rt, broadcast_id)
    sending.send_pending(rt, jobs.QUEUE_BULK)
    with rt.sessions() as s:
        rows = s.execute(select(Message.phone, Message.text, Message.status)
                         .where(Message.broadcast_id == broadcast_id)).all()
    assert {status for _p, _t, status in rows} <= {"simulated"}, rows
    return {phone: text for phone, text, _s in rows}


def seen(rt, visit_id: int) -> str:
    """What an approver opening the visit now would carry back."""
    return visit_plan.approval_digest(rt, visits.get(rt, visit_id))


def kinds(rt, visit_id: int) -> dict[str, bc.Broadcast]:
    found = {}
    for b in visits.messages_of(rt, visit_id):
        kind = {"visit": "notice", "told": "correction", "centre": "reminder"}[b.target.split(":")[0]]
        found[kind] = b
    return found


def test_an_approved_visit_sends_its_notice_now_and_schedules_the_reminder_for_saturday(town, people):
    row = visits.create(town, people["clerk"], centre_id(town, "Soweto"), sassa(town))
    assert row.status == "pending_approval" and not visits.messages_of(town, row.id)
    visits.approve(town, people["approver"], row.id, seen(town, row.id))
    sent = kinds(town, row.id)
    assert set(sent) == {"notice", "reminder"}
    assert bc.utc(sent["notice"].scheduled_at) == THURSDAY
    saturday = bc.utc(sent["reminder"].scheduled_at).astimezone(SAST)
    assert saturday == sast(2026, 12, 5, 10, 0)
    registry = ScheduledJobRegistry(queue=town.queue(jobs.QUEUE_BULK))
    [job_id] = registry.get_job_ids()  # the reminder's fan-out, for RQ's scheduler
    assert registry.get_scheduled_time(job_id) == saturday
    told = deliver(town, sent["notice"].id)
    assert told == dict.fromkeys(PHONES[0:3], "Thusong: SASSA at Maponya Mall Thusong, Mon 7 Dec, 09:00-14:00. "
                                               "Reply STOP to opt out")
    town.clock.advance(2 * 86400)  # Saturday 10:00: RQ's scheduler releases the fan-out
    reminded = deliver(town, sent["reminder"].id)
    assert set(reminded) == set(PHONES[0:3])
    assert all(t.startswith("Thusong: Reminder: SASSA at Maponya Mall Thusong, Mon 7 Dec") for t in reminded.values())


def test_a_cancelled_visit_corrects_everyone_told_and_sends_no_reminder(town, people):
    row = visits.create(town, people["approver"], centre_id(town, "Soweto"), sassa(town))
    assert row.status == "approved"  # an approver's own visit needs nobody else
    sent = kinds(town, row.id)
    deliver(town, sent["notice"].id)
    add_subscribers(town, PHONES[3:4], centre_id(town, "Soweto"))  # joined after the notice
    visit_cancel.cancel(town, people["approver"], row.id, "The unit broke down")
    after = kinds(town, row.id)
    assert bc.get(town, sent["reminder"].id).status == "cancelled"
    corrected = deliver(town, after["correction"].id)
    assert set(corrected) == set(PHONES[0:3])  # told: corrected; never told: nothing
    assert all("Cancelled: SASSA at Maponya Mall Thusong, Mon 7 Dec, 09:00-14:00 will not take place."
               in t for t in corrected.values())
    town.clock.advance(2 * 86400)
    assert bc.fan_out(town, sent["reminder"].id) == 0  # the scheduled job finds it cancelled
    with town.sessions() as s:
        assert not s.scalar(select(Message.id).where(Message.text.contains("Reminder")))


def test_cancelling_before_the_notice_left_tells_nobody(town, people):
    row = visits.create(town, people["approver"], centre_id(town, "Soweto"), sassa(town))
    notice = kinds(town, row.id)["notice"]
    visit_cancel.cancel(town, people["approver"], row.id, "Wrong week")
    assert set(kinds(town, row.id)) == {"notice", "reminder"}  # no correction: nobody was told
    assert bc.get(town, notice.id).status == "cancelled" and bc.fan_out(town, notice.id) == 0


def test_an_approved_edit_corrects_the_told_and_announces_to_the_rest(town, people):
    soweto = centre_id(town, "Soweto")
    first = visits.create(town, people["approver"], soweto, sassa(town))
    deliver(town, kinds(town, first.id)["notice"].id)
    old_reminder = kinds(town, first.id)["reminder"]
    add_subscribers(town, PHONES[3:4], soweto)
    change = visits.edit(town, people["clerk"], first.id, sassa(town, day=date(2026, 12, 9), starts=time(10)))
    assert change.status == "pending_approval" and change.replaces_id == first.id
    assert visits.get(town, first.id).status == "approved"  # in force until the change is approved
    assert bc.get(town, old_reminder.id).status == "scheduled"
    with pytest.raises(visits.WrongState, match="already waits for approval"):
        visits.edit(town, people["clerk"], first.id, sassa(town, day=date(2026, 12, 10)))
    visits.approve(town, people["approver"], change.id, seen(town, change.id))
    assert visits.get(town, first.id).status == "replaced"
    assert bc.get(town, old_reminder.id).status == "cancelled"
    sent = kinds(town, change.id)
    corrected = deliver(town, sent["correction"].id)
    assert set(corrected) == set(PHONES[0:3])
    assert corrected[PHONES[0]].startswith(
        "Thusong: Change: SASSA at Maponya Mall Thusong, Mon 7 Dec, 09:00-14:00 is now SASSA, Wed 9 Dec, 10:00-14:00.")
    assert set(deliver(town, sent["notice"].id)) == {PHONES[3]}  # the one not told before
    assert bc.utc(sent["reminder"].scheduled_at).astimezone(SAST) == sast(2026, 12, 8, 10, 0)


def test_a_waiting_visit_is_edited_in_place_and_rejected_with_a_reason(town, people):
    row = visits.create(town, people["clerk"], centre_id(town, "Soweto"), sassa(town))
    same = visits.edit(town, people["clerk"], row.id, sassa(town, service="Home Affairs"))
    assert same.id == row.id and same.service == "Home Affairs"
    with pytest.raises(visits.VisitError, match="reason"):
        visits.reject(town, people["approver"], row.id, " ", seen(town, row.id))
    assert visits.reject(town, people["approver"], row.id, "Wrong week", seen(town, row.id)).rejected_reason == "Wrong week"
    with pytest.raises(visits.WrongState):
        visits.approve(town, people["approver"], row.id, seen(town, row.id))
    assert not visits.messages_of(town, row.id)


def test_clerks_work_only_for_their_centres_and_never_approve(town, people):
    soweto, worcester = centre_id(town, "Soweto"), centre_id(town, "Worcester")
    with pytest.raises(visits.NotAllowed, match=f"centre {worcester} is not one of your centres"):
        visits.create(town, people["clerk"], worcester, sassa(town))
    row = visits.create(town, people["clerk"], soweto, sassa(town))
    with pytest.raises(visits.NotFound):
        visits.get_for(town, people["other_clerk"], row.id)
    assert visits.list_visits(town, people["other_clerk"]) == []
    assert [v.id for v in visits.list_visits(town, people["clerk"])] == [row.id]
    with pytest.raises(visits.NotAllowed, match="only an approver"):
        visits.approve(town, people["clerk"], row.id, seen(town, row.id))
    mine = visits.create(town, people["approver"], soweto, sassa(town, day=date(2026, 12, 8)))
    assert mine.status == "approved"


@pytest.mark.parametrize("service, day, starts, ends, says", [
    ("", MONDAY, time(9), time(14), "name the service"),
    ("Department of Home Affairs mobile", MONDAY, time(9), time(14), "at most 24"),
    ("SASSA ✓", MONDAY, time(9), time(14), "plain SMS"),
    ("SASSA", MONDAY, time(14), time(9), "end after it starts"),
    ("SASSA", date(2026, 12, 2), time(9), time(14), "already over"),
    ("SASSA", date(2026, 12, 3), time(8), time(9, 30), "already over"),
], ids=["empty", "too-long", "not-gsm7", "ends-first", "yesterday", "earlier-today"])
def test_bad_details_are_refused_saying_why(town, service, day, starts, ends, says):
    with pytest.raises(visits.VisitError, match=says):
        visits.check(town, service, day, starts, ends)


def test_cancelling_a_visit_drops_the_change_waiting_for_approval(town, people):
    first = visits.create(town, people["approver"], centre_id(town, "Soweto"), sassa(town))
    change = visits.edit(town, people["clerk"], first.id, sassa(town, starts=time(10)))
    visit_cancel.cancel(town, people["approver"], first.id, "Called off")
    assert visits.get(town, change.id).status == "cancelled"
    with pytest.raises(visits.WrongState):
        visits.approve(town, people["approver"], change.id, seen(town, change.id))
    assert not visits.messages_of(town, change.id)
