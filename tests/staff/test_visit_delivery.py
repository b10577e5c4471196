"""A service visit end to end: real RQ worker processes (their schedulers release the
reminder's fan-out when it is due; the sweeper may too), real Redis and SQL, the official SDK
against the local fake AT. Each subscriber gets the notice once and the reminder once, the
reminder not before its time. Counted when the system is quiet, never after a fixed sleep."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
from rq import Worker
from rq.registry import FailedJobRegistry

from gateway import jobs
from gateway.clock import SAST
from gateway.sms.quiet_hours import fixed_windows_setting
from gateway.staff import broadcasts as bc
from gateway.staff import visits
from tests.broadcasting import add_subscribers, centre_id, ordinary_day
from tests.fake_at import FakeAT
from tests.sms.test_sms_pipeline import at_env
from tests.workers import running_workers, wait_quiet, wait_until

pytestmark = pytest.mark.slow


def test_notice_and_reminder_reach_every_subscriber_exactly_once(seeded, settings, monkeypatch):
    soweto = centre_id(seeded, "Soweto")
    phones = [f"+2782600{i:04d}" for i in range(40)]
    add_subscribers(seeded, phones, soweto)
    with FakeAT() as fake, running_workers(settings, count=2, env=at_env(fake), args=("--sweep-every", "0.5")):
        wait_until(lambda: len(Worker.all(connection=seeded.redis)) == 2, timeout=20, every=0.05)
        # The approving side's bulk schedule (a test-only BULK_SCHEDULE, as separate processes
        # cannot share a frozen clock): the notice's window now, the last window before the
        # visit's day a few seconds later, so the reminder is due in seconds, not days.
        now = datetime.now(UTC)
        later = now + timedelta(seconds=8)  # room for a busy machine to approve inside the first window
        monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BULK_SCHEDULE=fixed_windows_setting(
            [(now - timedelta(minutes=1), now + timedelta(seconds=5)), (later, later + timedelta(minutes=1))])))
        day = ordinary_day(seeded, soweto, (now.astimezone(SAST) + timedelta(days=2)).date())
        row = visits.create(seeded, bc.CLI, soweto, visits.check(seeded, "SASSA", day, time(9), time(14)))
        by_kind = {b.target.split(":")[0]: b for b in visits.messages_of(seeded, row.id)}
        notice, reminder = by_kind["visit"], by_kind["centre"]
        due = bc.utc(reminder.scheduled_at)
        assert later <= due <= later + timedelta(minutes=1)
        # Queues deliver at least once: a second copy of the reminder's job changes nothing.
        seeded.queue(jobs.QUEUE_BULK).enqueue_at(due, jobs.FAN_OUT, reminder.id, job_timeout=jobs.FAN_OUT_TIMEOUT)
        wait_until(lambda: bc.get(seeded, reminder.id).status == "sent", timeout=90, every=0.25)
        wait_quiet(seeded)
        failed = [FailedJobRegistry(queue=seeded.queue(q)).get_job_ids() for q in jobs.QUEUES]
        assert failed == [[] for _q in jobs.QUEUES], "a duplicate job must do nothing, not fail"
    texts = fake.accepted_messages()
    notice_text, reminder_text = notice.full_text, reminder.full_text
    assert Counter(n for n, text, _f in texts if text == notice_text) == Counter(phones)
    assert Counter(n for n, text, _f in texts if text == reminder_text) == Counter(phones)
    assert len(texts) == 2 * len(phones)
    reminder_sent = [r.at for r in fake.requests if r.form.get("message") == reminder_text]
    # RQ's scheduler keeps whole seconds (it floors the time): a job may start up to 1 s before
    # its moment, never sooner (and the bulk sender still keeps the window).
    assert min(reminder_sent) >= due.timestamp() - 1.0, "a reminder left before it was due"
    assert bc.get(seeded, notice.id).status == "sent"
