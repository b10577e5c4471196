"""Broadcast domain without worker processes: targets, preview to the character, the
two-person rule, scheduling around quiet hours, fan-out, cancel and progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import insert, select

from gateway import jobs
from gateway.clock import FrozenClock
from gateway.sms import consent, sending
from gateway.sms.quiet_hours import SAST
from gateway.staff import broadcasts as bc
from gateway.staff.accounts import add_staff
from gateway.staff.targets import Target, TargetError, parse
from gateway.store.models import Message, Service, centre_services
from tests import fake_at
from tests.broadcasting import add_subscribers, centre_id
from tests.conftest import SEED_ROWS
from tests.fake_at import FakeAT

PHONES = [f"+2782300{i:04d}" for i in range(10)]


@pytest.mark.parametrize("spec, expected", [
    ("all", Target("all")),
    (" ALL ", Target("all")),
    ("province:Gauteng", Target("province", "Gauteng")),
    ("province: Western Cape ", Target("province", "Western Cape")),
    ("municipality:City of Johannesburg", Target("municipality", "City of Johannesburg")),
    ("centre:12", Target("centre", "12")),
    ("centre:12, 7,12", Target("centre", "12,7")),
    ("service:grants", Target("service", "grants")),
], ids=["all", "all-spaces-case", "province", "province-spaces", "municipality", "centre", "centres-dedup", "service"])
def test_parse_target(spec, expected):
    assert parse(spec) == expected


@pytest.mark.parametrize("spec, says", [
    ("everyone", "use all, province:NAME"),
    ("all:x", "takes no value"),
    ("province:", "needs a value"),
    ("centre:abc", "numeric ids"),
], ids=["unknown-kind", "all-with-value", "empty-value", "centre-not-numeric"])
def test_parse_target_errors(spec, says):
    with pytest.raises(TargetError, match=says):
        parse(spec)


@pytest.fixture
def town(seeded):
    """Subscribers: 4 in Soweto (1 opted out, 1 unsubscribed, 1 isiZulu), 3 in Worcester."""
    soweto, worcester = centre_id(seeded, "Soweto"), centre_id(seeded, "Worcester")
    add_subscribers(seeded, PHONES[0:2], soweto)
    add_subscribers(seeded, PHONES[2:3], soweto, language="zu")
    add_subscribers(seeded, PHONES[3:4], soweto, opted_out=True)
    add_subscribers(seeded, PHONES[4:5], soweto, ended=True)
    add_subscribers(seeded, PHONES[5:8], worcester)
    add_subscribers(seeded, PHONES[0:1], worcester)  # also Worcester: counted once
    return seeded


def _count(rt, spec, lang=None):
    return bc.compose(rt, spec, "Hello", lang)[1].recipients


@pytest.mark.parametrize("spec, lang, expected", [
    ("all", None, 6),
    ("all", "zu", 1),
    ("province:Gauteng", None, 3),
    ("province:gp", None, 3),
    ("province:Wes-Kaap", None, 4),
    ("municipality:city of johannesburg", None, 3),
    ("municipality:Breede Valley", None, 4),
], ids=["all", "all-isizulu", "province", "province-code", "province-other-name", "municipality", "municipality-2"])
def test_recipients_after_opt_outs_and_ended_subscriptions(town, spec, lang, expected):
    assert _count(town, spec, lang) == expected


def test_centres_and_services(town, seeded):
    soweto, worcester = centre_id(seeded, "Soweto"), centre_id(seeded, "Worcester")
    assert _count(seeded, f"centre:{soweto},{worcester}") == 6
    with seeded.sessions.begin() as s:
        grants = s.scalar(select(Service.id).where(Service.code == "grants"))
        s.execute(insert(centre_services), [{"centre_id": worcester, "service_id": grants}])
    assert _count(seeded, "service:grants") == 4
    assert _count(seeded, "service:housing") == 0  # a real service no centre offers: nobody


@pytest.mark.parametrize("spec, says", [
    ("province:Gautang", "provinces: Eastern Cape, Free State, Gauteng"),
    ("municipality:City of Joburg", "did you mean City of Johannesburg"),
    ("centre:99999", f"no centre with id 99999; {SEED_ROWS} centres exist"),
    ("service:passports", "services: abet, business_advice, community_info"),
], ids=["province", "municipality", "centre", "service"])
def test_a_bad_target_names_what_exists(seeded, spec, says):
    with pytest.raises(TargetError, match=says):
        bc.compose(seeded, spec, "Hello")


def test_unknown_language_names_the_languages(seeded):
    with pytest.raises(TargetError, match="languages: zu, xh, af, en"):
        bc.compose(seeded, "all", "Hello", "fr")


def test_preview_gsm7_to_the_character(town):
    _target, p = bc.compose(town, "province:Gauteng", "Home Affairs mobile unit at Kagiso Thusong on Tuesday 09:00.")
    assert p.text == "Thusong: Home Affairs mobile unit at Kagiso Thusong on Tuesday 09:00. Reply STOP to opt out"
    assert (p.characters, p.units, p.encoding, p.ucs2_because, p.segments) == (91, 91, "GSM-7", None, 1)
    assert (p.recipients, p.cost) == (3, 0.75)  # 1 segment × 3 × R0.25


def test_a_message_without_a_closing_stop_gets_one_before_the_opt_out_line(town):
    """On a phone's screen "…bring your ID Reply STOP to opt out" reads as one sentence."""
    p = bc.compose(town, "all", "Bring your ID book and proof of address")[1]
    assert p.text == "Thusong: Bring your ID book and proof of address. Reply STOP to opt out"
    assert p.characters == len(p.text)  # the full stop is counted like the rest
    for ended in ("Clinic day Friday.", "Open on Saturday!", "Questions? Call 011 555 0101 (office)"):
        assert bc.compose(town, "all", ended)[1].text == f"Thusong: {ended} Reply STOP to opt out"


def test_preview_counts_the_prefix_and_the_opt_out_line_towards_segments(town):
    # 160 GSM-7 characters is one segment; the prefix, the closing stop and the opt-out line
    # take 32 of them.
    fits = "x" * (160 - len("Thusong: ") - len(". Reply STOP to opt out"))
    assert bc.compose(town, "all", fits)[1].segments == 1
    over = bc.compose(town, "all", fits + "y")[1]
    assert (over.characters, over.segments, over.cost) == (161, 2, 3.0)  # 2 × 6 × 0.25
    euro = bc.compose(town, "all", fits[:-1] + "€")[1]  # an extension character counts 2
    assert (euro.characters, euro.units, euro.encoding, euro.segments) == (160, 161, "GSM-7", 2)


def test_preview_names_the_character_that_forces_ucs2_and_uses_the_language(town):
    p = bc.compose(town, "all", "Ukuvalwa kwamanzi ngoMsombuluko — sicela ulungiselele.", "zu")[1]
    assert p.text.endswith(" Phendula STOP ukuyeka") and p.text.startswith("Thusong: ")
    assert (p.encoding, p.ucs2_because, p.recipients) == ("UCS-2", "—", 1)
    assert p.units == p.characters == len(p.text) and p.segments == 2  # 86 > 70: 67 per part
    assert "because of '—', U+2014" in "\n".join(p.lines())


def test_every_language_has_a_gsm7_opt_out_line():
    from menus.catalogue import LANGUAGES
    from menus.keywords import reply_text
    from menus.segments import is_gsm7

    lines = {lang: reply_text("optout_line", lang) for lang in LANGUAGES}
    assert all("STOP" in line and is_gsm7(line) for line in lines.values()), lines
    assert len(set(lines.values())) >= 9  # translated, not English everywhere


# --- the two-person rule ---------------------------------------------------------------------

def seen(rt, broadcast_id: int) -> str:
    """What an approver opening the broadcast now would carry back."""
    return bc.seen_digest(bc.get(rt, broadcast_id))


@pytest.fixture
def people(town, monkeypatch):
    monkeypatch.setattr(town, "settings", town.settings.with_(BROADCAST_APPROVAL="true"))
    made = {}
    for role in ("clerk", "approver", "admin"):
        for n in (1, 2):
            centres = [centre_id(town, "Soweto")] if role == "clerk" else []
            member = add_staff(town.sessions, f"{role}{n}@thusong.test", f"{role} {n}", role, "long enough pw",
                               centre_ids=centres)
            made[f"{role}{n}"] = bc.Actor.of(member)
    made["soweto"] = f"centre:{centre_id(town, 'Soweto')}"
    return made


def test_a_clerks_broadcast_waits_for_another_approver(town, people):
    clerk, approver = people["clerk1"], people["approver1"]
    row = bc.create(town, clerk, people["soweto"], "Clinic day Friday.")
    assert bc.submit(town, clerk, row.id).status == "pending_approval"
    assert town.queue(jobs.QUEUE_BULK).count == 0  # nothing queued to send
    with pytest.raises(bc.NotAllowed, match="only an approver"):
        bc.approve(town, people["clerk2"], row.id, seen(town, row.id))
    done = bc.approve(town, approver, row.id, seen(town, row.id))
    assert (done.status, done.approved_by) == ("scheduled", approver.staff_id)
    assert [j.func_name for j in town.queue(jobs.QUEUE_BULK).jobs] == [jobs.FAN_OUT]
    with pytest.raises(bc.WrongState):
        bc.approve(town, people["approver2"], row.id, seen(town, row.id))  # approved once is enough


def test_the_author_cannot_approve_their_own_broadcast(town, people):
    clerk = people["clerk1"]
    row = bc.create(town, clerk, people["soweto"], "Clinic day Friday.")
    bc.submit(town, clerk, row.id)
    promoted = bc.Actor(clerk.staff_id, "approver", centres=clerk.centres)  # the same person, since made an approver
    with pytest.raises(bc.NotAllowed, match="author"):
        bc.approve(town, promoted, row.id, seen(town, row.id))
    with pytest.raises(bc.NotAllowed, match="author"):
        bc.reject(town, promoted, row.id, "changed my mind", seen(town, row.id))
    assert bc.get(town, row.id).status == "pending_approval"
    assert bc.approve(town, people["admin2"], row.id, seen(town, row.id)).status == "scheduled"
    # An approver's own broadcast needs no second person: only a clerk's does.
    own = bc.create(town, people["approver1"], "all", "Office closed Monday.")
    assert bc.submit(town, people["approver1"], own.id).status == "scheduled"


def test_a_rejection_carries_its_reason_to_the_author(town, people):
    row = bc.create(town, people["clerk1"], people["soweto"], "Wrong date.")
    bc.submit(town, people["clerk1"], row.id)
    with pytest.raises(bc.BroadcastError, match="reason"):
        bc.reject(town, people["approver1"], row.id, "  ", seen(town, row.id))
    with pytest.raises(bc.NotAllowed):
        bc.reject(town, people["clerk2"], row.id, "no", seen(town, row.id))
    out = bc.reject(town, people["approver1"], row.id, "The clinic day is Thursday, not Friday.", seen(town, row.id))
    assert (out.status, out.rejected_reason) == ("rejected", "The clinic day is Thursday, not Friday.")
    assert bc.get(town, row.id).rejected_reason.startswith("The clinic day")
    with pytest.raises(bc.WrongState):
        bc.approve(town, people["approver2"], row.id, seen(town, row.id))


CHANGES = [
    ("text", {"text": "SMS your ID to 0820000000.", "full_text": "Thusong: SMS your ID to 0820000000. Reply STOP"}),
    ("target", {"target": "all"}),
    ("language", {"language": "zu"}),
    ("time", {"scheduled_at": datetime(2026, 12, 24, 7, 0, tzinfo=UTC)}),
]


@pytest.mark.parametrize("decision", ["approve", "reject"])
@pytest.mark.parametrize("values", [c[1] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_a_broadcast_changed_since_the_approver_opened_it_is_neither_approved_nor_rejected(
        town, people, values, decision):
    row = bc.create(town, people["clerk1"], people["soweto"], "Clinic day Friday.")
    bc.submit(town, people["clerk1"], row.id)
    opened = seen(town, row.id)
    with town.sessions.begin() as s:
        s.execute(bc.Broadcast.__table__.update().where(bc.Broadcast.id == row.id).values(**values))
    with pytest.raises(bc.Changed, match="this changed since you opened it"):
        if decision == "approve":
            bc.approve(town, people["approver1"], row.id, opened)
        else:
            bc.reject(town, people["approver1"], row.id, "no", opened)
    assert bc.get(town, row.id).status == "pending_approval" and town.queue(jobs.QUEUE_BULK).count == 0
    assert bc.approve(town, people["approver1"], row.id, seen(town, row.id)).status == "scheduled"


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_change_landing_between_the_check_and_the_update_is_not_released(town, people, monkeypatch, decision):
    row = bc.create(town, people["clerk1"], people["soweto"], "Clinic day Friday.")
    bc.submit(town, people["clerk1"], row.id)
    opened, real = seen(town, row.id), bc.seen_digest

    def then_changed(read):  # another request rewrites the text just after the check read the row
        found = real(read)
        with town.sessions.begin() as s:
            s.execute(bc.Broadcast.__table__.update().where(bc.Broadcast.id == row.id).values(full_text="changed"))
        return found

    monkeypatch.setattr(bc, "seen_digest", then_changed)
    with pytest.raises(bc.Changed):
        if decision == "approve":
            bc.approve(town, people["approver1"], row.id, opened)
        else:
            bc.reject(town, people["approver1"], row.id, "no", opened)
    assert bc.get(town, row.id).status == "pending_approval" and town.queue(jobs.QUEUE_BULK).count == 0


def test_without_the_rule_a_clerk_sends_directly(town):
    assert not town.settings.broadcast_approval  # development default
    clerk = bc.Actor(None, "clerk", centres=frozenset({centre_id(town, "Soweto")}))
    row = bc.create(town, clerk, f"centre:{centre_id(town, 'Soweto')}", "Hello")
    assert bc.submit(town, clerk, row.id).status == "scheduled"


# --- a clerk's centres ------------------------------------------------------------------------

@pytest.mark.parametrize("spec, says", [
    ("all", "only to your own centres (centre:ID), not to all"),
    ("province:Gauteng", "not to province:Gauteng"),
    ("municipality:City of Johannesburg", "not to municipality:City of Johannesburg"),
    ("service:grants", "not to service:grants"),
    ("centre:{worcester}", "centre {worcester} is not one of your centres"),
    ("centre:{soweto},{worcester}", "centre {worcester} is not one of your centres"),
], ids=["all", "province", "municipality", "service", "other-centre", "own-and-other"])
def test_a_clerk_may_target_only_their_own_centres(town, people, spec, says):
    ids = {"soweto": centre_id(town, "Soweto"), "worcester": centre_id(town, "Worcester")}
    with pytest.raises(bc.NotAllowed, match=says.format(**ids).replace("(", r"\(").replace(")", r"\)")):
        bc.create(town, people["clerk1"], spec.format(**ids), "Hello")
    with pytest.raises(bc.NotAllowed):
        bc.compose(town, spec.format(**ids), "Hello", actor=people["clerk1"])  # no counts either
    assert bc.compose(town, people["soweto"], "Hello", actor=people["clerk1"])[1].recipients == 3


def test_a_clerk_without_centres_may_target_nothing(town):
    with pytest.raises(bc.NotAllowed, match="no centre"):
        bc.create(town, bc.Actor(None, "clerk"), f"centre:{centre_id(town, 'Soweto')}", "Hello")


def test_a_clerk_sees_and_cancels_only_what_is_theirs(town, people):
    worcester = f"centre:{centre_id(town, 'Worcester')}"
    clerk1, clerk2 = people["clerk1"], people["clerk2"]
    elsewhere = bc.create(town, people["admin1"], worcester, "Worcester only.")
    everyone = bc.create(town, people["admin1"], "all", "Everyone.")
    ours = bc.create(town, people["admin1"], people["soweto"], "Soweto.")
    colleague = bc.create(town, clerk2, people["soweto"], "From a colleague.")
    mine = bc.create(town, clerk1, people["soweto"], "Mine.")
    assert [r.id for r in bc.list_broadcasts(town, actor=clerk1)] == [mine.id, colleague.id, ours.id]
    assert len(bc.list_broadcasts(town, actor=people["approver1"])) == 5  # no centre listed: all
    for hidden in (elsewhere, everyone):
        with pytest.raises(bc.NotFound):
            bc.get_for(town, clerk1, hidden.id)
        with pytest.raises(bc.NotFound):
            bc.cancel(town, clerk1, hidden.id)
    with pytest.raises(bc.NotAllowed, match="only their own"):
        bc.cancel(town, clerk1, colleague.id)
    assert bc.cancel(town, clerk1, mine.id).status == "cancelled"


def test_a_clerk_does_not_see_a_broadcast_to_their_centre_and_another_written_by_someone_else(town, people):
    both = f"{people['soweto']},{centre_id(town, 'Worcester')}"
    row = bc.create(town, people["admin1"], both, "Soweto and Worcester.")
    with pytest.raises(bc.NotFound):
        bc.get_for(town, people["clerk1"], row.id)  # Soweto is theirs, Worcester is not
    assert row.id not in [r.id for r in bc.list_broadcasts(town, actor=people["clerk1"])]
    assert bc.get_for(town, people["approver1"], row.id).id == row.id


def test_an_approver_listing_centres_approves_only_for_them(town, people):
    worcester_approver = add_staff(town.sessions, "wa@thusong.test", "WA", "approver", "long enough pw",
                                   centre_ids=[centre_id(town, "Worcester")])
    row = bc.create(town, people["clerk1"], people["soweto"], "Clinic day Friday.")
    bc.submit(town, people["clerk1"], row.id)
    with pytest.raises(bc.NotFound):
        bc.approve(town, bc.Actor.of(worcester_approver), row.id, seen(town, row.id))
    assert bc.approve(town, people["approver1"], row.id, seen(town, row.id)).status == "scheduled"


def test_start_of_says_when_quiet_hours_hold_a_broadcast(town, monkeypatch):
    monkeypatch.setattr(town, "settings", town.settings.with_(BULK_SCHEDULE=""))
    monkeypatch.setattr(town, "clock", FrozenClock(datetime(2026, 12, 5, 13, 30, tzinfo=SAST)))  # Saturday
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=SAST)
    draft = bc.create(town, bc.CLI, "all", "Hello")
    assert bc.start_of(town, draft) == bc.Start(monday, False, True)
    assert bc.start_of(town, at=datetime(2026, 12, 7, 9, 0, tzinfo=SAST)) == bc.Start(
        datetime(2026, 12, 7, 9, 0, tzinfo=SAST), False, False)
    scheduled = bc.submit(town, bc.CLI, draft.id)
    assert bc.start_of(town, scheduled) == bc.Start(monday, False, True)


# --- scheduling, fan-out, cancel, progress (in process) ---------------------------------------

def test_a_broadcast_due_in_quiet_hours_is_scheduled_for_the_next_window(town, monkeypatch):
    saturday = datetime(2026, 12, 5, 13, 30, tzinfo=SAST)
    monkeypatch.setattr(town, "settings", town.settings.with_(BULK_SCHEDULE=""))
    monkeypatch.setattr(town, "clock", FrozenClock(saturday))
    row = bc.create(town, bc.CLI, "all", "Hello")
    out = bc.submit(town, bc.CLI, row.id)
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=SAST)
    assert out.status == "scheduled" and bc.utc(out.scheduled_at) == monday
    registry = ScheduledJobRegistry(queue=town.queue(jobs.QUEUE_BULK))
    [job_id] = registry.get_job_ids()
    assert registry.get_scheduled_time(job_id) == monday.astimezone(registry.get_scheduled_time(job_id).tzinfo)
    later = bc.create(town, bc.CLI, "all", "Hello", at=datetime(2026, 12, 8, 21, 0, tzinfo=SAST))
    assert bc.utc(bc.submit(town, bc.CLI, later.id).scheduled_at) == datetime(2026, 12, 9, 8, 0, tzinfo=SAST)


def test_a_bulk_send_outside_the_window_pauses_and_schedules_its_continuation(town, monkeypatch):
    row = bc.submit(town, bc.CLI, bc.create(town, bc.CLI, "all", "Hello").id)
    bc.fan_out(town, row.id)
    assert bc.get(town, row.id).status == "sending"
    monkeypatch.setattr(town, "settings", town.settings.with_(BULK_SCHEDULE=""))
    monkeypatch.setattr(town, "clock", FrozenClock(datetime(2030, 12, 1, 10, 0, tzinfo=SAST)))  # a Sunday still to come: RQ schedules against the real clock
    assert sending.send_pending(town, jobs.QUEUE_BULK) == 0
    assert bc.get(town, row.id).status == "paused"
    assert bc.progress(town, row.id)["queued"] == 6
    registry = ScheduledJobRegistry(queue=town.queue(jobs.QUEUE_BULK))
    assert len(registry.get_job_ids()) == 1
    sending.send_pending(town, jobs.QUEUE_BULK)  # another job meets the closed window
    assert len(registry.get_job_ids()) == 1  # still one continuation
    town.clock.advance(22 * 3600)  # Monday 08:00
    assert sending.send_pending(town, jobs.QUEUE_BULK) == 6
    assert bc.get(town, row.id).status == "sent"


def test_replies_are_never_held_by_quiet_hours(town, monkeypatch):
    from gateway.sms import outbox

    monkeypatch.setattr(town, "settings", town.settings.with_(BULK_SCHEDULE=""))
    monkeypatch.setattr(town, "clock", FrozenClock(datetime(2026, 12, 6, 23, 0, tzinfo=SAST)))
    outbox.queue_sms(town, PHONES[0], "Your nearest centre is Maponya Mall Thusong", key="night-reply")
    assert sending.send_pending(town, jobs.QUEUE_REPLIES) == 1


def test_fan_out_is_idempotent_cancel_stops_the_rest_and_progress_counts(town):
    row = bc.submit(town, bc.CLI, bc.create(town, bc.CLI, "all", "Water outage Tuesday.").id)
    assert bc.fan_out(town, row.id, chunk=2) == 6
    with town.sessions.begin() as s:  # pretend the job died before it recorded completion
        s.execute(Message.__table__.update().where(Message.phone == PHONES[5]).values(status="sent"))
        s.execute(bc.Broadcast.__table__.update().values(fanned_out_at=None))
    assert bc.fan_out(town, row.id, chunk=4) == 0  # a second run writes nothing new
    with town.sessions() as s:
        keys = set(s.scalars(select(Message.idempotency_key).where(Message.broadcast_id == row.id)))
    assert len(keys) == 6 and f"bc:{row.id}:{PHONES[0]}" in keys
    consent.record_opt_out(town, PHONES[1])
    bc.cancel(town, bc.CLI, row.id)
    assert bc.progress(town, row.id) == {"queued": 0, "sent": 1, "delivered": 0, "failed": 0,
                                         "opted_out": 1, "cancelled": 4, "total": 6}
    assert sending.send_pending(town, jobs.QUEUE_BULK) == 0
    with pytest.raises(bc.WrongState, match="is already cancelled"):  # NotCancellable, a WrongState
        bc.cancel(town, bc.CLI, row.id)


def test_cancel_stops_the_rows_waiting_to_retry_too(town):
    row = bc.submit(town, bc.CLI, bc.create(town, bc.CLI, "all", "Water outage Tuesday.").id)
    with FakeAT() as fake:
        sender = fake_at.at_runtime(town, fake)
        fake.status_for.update(dict.fromkeys(PHONES, 500))  # AT fails them: each waits to retry
        bc.fan_out(sender, row.id)
        sending.send_pending(sender, jobs.QUEUE_BULK)
        assert bc.progress(town, row.id)["queued"] == 6  # 'retry' rows are still to go
        bc.cancel(town, bc.CLI, row.id)
        fake.status_for.clear()  # AT is well again
        with town.sessions.begin() as s:  # and every back-off is over
            s.execute(Message.__table__.update().where(Message.broadcast_id == row.id)
                      .values(updated_at=datetime.now(UTC) - timedelta(hours=1)))
        sending.release_due_retries(sender)
        sending.send_pending(sender, jobs.QUEUE_BULK)
        assert not fake.accepted_counts()
    assert bc.progress(town, row.id)["cancelled"] == 6


def test_a_lost_fan_out_is_restarted_by_the_sweeper(town):
    from gateway.sms import sweeper

    bc.submit(town, bc.CLI, bc.create(town, bc.CLI, "all", "Hello").id)
    town.queue(jobs.QUEUE_BULK).empty()  # the job is lost
    with town.sessions.begin() as s:
        s.execute(bc.Broadcast.__table__.update().values(
            status="sending", updated_at=datetime.now(UTC) - timedelta(hours=1)))
    assert sweeper.sweep(town)["fan_outs_restarted"] == 1
    assert [j.func_name for j in town.queue(jobs.QUEUE_BULK).jobs] == [jobs.FAN_OUT]


def test_a_duplicate_fan_out_that_loses_the_race_to_start_it_still_writes_each_row_once(town, monkeypatch):
    # Queues deliver at least once and the sweeper may queue a fan-out again: two copies of the
    # job can both read 'scheduled', and only one can move it to 'sending'.
    row = bc.submit(town, bc.CLI, bc.create(town, bc.CLI, "all", "Hello").id)
    stale = bc.get(town, row.id)
    bc._move(town, row.id, "start")  # the other copy won
    real_get, first = bc.get, iter([stale])
    monkeypatch.setattr(bc, "get", lambda rt, i: next(first, None) or real_get(rt, i))
    assert bc.fan_out(town, row.id) == 6
    assert bc.fan_out(town, row.id) == 0
    assert bc.progress(town, row.id)["total"] == 6


def test_a_broadcast_logs_its_progress_and_its_end_not_a_line_per_message(town):
    from gateway.sms import bulk
    from tests.conftest import captured_logs

    row = bc.submit(town, bc.CLI, bc.create(town, bc.CLI, "all", "Water outage Tuesday.").id)
    bc.fan_out(town, row.id)
    bulk._last_progress.clear()
    with captured_logs("INFO") as out:
        assert sending.send_pending(town, jobs.QUEUE_BULK) == 6
    lines = [line.split(": ", 1)[1] for line in out.getvalue().splitlines() if "gateway.sms" in line]
    assert lines == [f"broadcast {row.id} sending: 6 of 6 settled (6 sent, 0 not sent)",
                     f"broadcast {row.id} finished: 6 of 6 settled (6 sent, 0 not sent)"], out.getvalue()
