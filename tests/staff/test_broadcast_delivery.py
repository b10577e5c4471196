"""Broadcasts end to end: real RQ worker processes (fan-out job, senders, RQ's scheduler),
real Redis and SQL, the official SDK against the local fake AT, delivery reports back to the
app. Counted when the system is quiet — no row queued, sending or retry — never after a
fixed sleep."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta

import pytest
from rq import Worker
from sqlalchemy import func, select

from gateway.sms import optout
from gateway.sms.quiet_hours import fixed_windows_setting
from gateway.staff import broadcasts as bc
from gateway.store.models import Message
from tests.broadcasting import add_subscribers, centre_id
from tests.conftest import TOKEN
from tests.fake_at import FakeAT
from tests.live import serving
from tests.sms.test_sms_pipeline import at_env
from tests.workers import running_workers, start_worker, wait_until

pytestmark = pytest.mark.slow
BUSY = ("queued", "sending", "retry")


def quiet(rt, *ids: int) -> bool:
    """No row of these broadcasts waits, and each has written all its rows."""
    with rt.sessions() as s:
        busy = s.scalar(select(func.count()).where(Message.broadcast_id.in_(ids), Message.status.in_(BUSY)))
    return busy == 0 and all(bc.get(rt, i).fanned_out_at or bc.get(rt, i).status == "cancelled" for i in ids)


def send_now(rt, target: str, text: str) -> int:
    return bc.submit(rt, bc.CLI, bc.create(rt, bc.CLI, target, text).id).id


def test_ten_thousand_exactly_once_across_a_killed_worker_with_opt_outs_and_a_cancel(seeded, app, settings):
    n = 10_000
    soweto, worcester = centre_id(seeded, "Soweto"), centre_id(seeded, "Worcester")
    phones = [f"+2771{i:07d}" for i in range(n)]
    add_subscribers(seeded, phones, soweto)
    opted_before = [f"+2774{i:07d}" for i in range(100)]
    add_subscribers(seeded, opted_before, soweto, opted_out=True)
    others = [f"+2775{i:07d}" for i in range(1000)]
    add_subscribers(seeded, others, worcester)
    late = phones[-50:]  # opt out after their rows are queued (sent last: rows go in order)
    with serving(app) as base, FakeAT(dlr_url=f"{base}/webhooks/at/sms/delivery?token={TOKEN}") as fake:
        # The killed worker's last request may have reached AT: its rows wait as 'unknown' for
        # their delivery reports, which the fake AT sends in the order it accepted the messages
        # and retries until answered (this process serves them while it also plays AT): behind
        # the ~1,500 accepted before the kill, and every report of the run came within 3-9 s of
        # its message on this machine under load. The reconcile window (resend when no report
        # came) must outlast that, as production's (15 min) outlasts AT's; 20 s leaves twice
        # the margin, and is also what a batch claimed but never sent waits before its resend.
        # AT's answer gets production's patience too: a 1 s read timeout on this loaded box
        # makes every slow answer 'unknown'.
        env = at_env(fake, SMS_RATE_PER_SECOND="1500", SMS_RECONCILE_SECONDS="20", AT_TIMEOUT_SECONDS="9",
                     SMS_CREDIT_PROBE_SECONDS="0.5")
        args = ("--sweep-every", "0.5")
        # AT says "out of credit" until the stage is set: the rows wait queued (as they would for
        # a top-up), so the opt-outs and the cancel below land before any of them can leave,
        # however slow this machine is; at 1,500 a second the whole broadcast takes ~7 s.
        fake.answer_everyone(405)
        victim = start_worker(settings, *args, env=env, new_session=True)
        with running_workers(settings, count=2, env=env, args=args):
            first = send_now(seeded, f"centre:{soweto}", "Home Affairs mobile unit Tuesday 09:00.")
            wait_until(lambda: bc.get(seeded, first).fanned_out_at, timeout=60)
            for phone in late:
                optout.opt_out(seeded, phone, "sms-stop", confirm=False)
            second = send_now(seeded, f"centre:{worcester}", "Clinic day moved to Thursday.")
            wait_until(lambda: bc.get(seeded, second).fanned_out_at, timeout=30)
            bc.cancel(seeded, bc.CLI, second)  # still behind the first's rows: none of it leaves
            assert not fake.accepted_counts(), "sent before the stage was set"
            fake.answer_everyone(None)  # topped up: the next probe is accepted and sending resumes
            try:
                wait_until(lambda: len(fake.accepted_counts()) >= 1500, timeout=60)
            finally:
                os.killpg(victim.pid, signal.SIGKILL)  # mid-batch, scheduler lock and all
                victim.wait()
            assert len(fake.accepted_counts()) < n - len(late), "the kill came too late to test anything"
            with running_workers(settings, env=env, args=args):  # a replacement joins the other two
                wait_until(lambda: quiet(seeded, first, second), timeout=90, every=0.5)
                try:
                    wait_until(lambda: bc.get(seeded, first).status == "sent", timeout=150)  # unknown rows settled too
                except AssertionError:
                    with seeded.sessions() as s:
                        rows = s.execute(select(Message.status, Message.failure_reason, func.count()).where(
                            Message.broadcast_id == first).group_by(Message.status, Message.failure_reason)).all()
                    raise AssertionError(f"DIAG {bc.get(seeded, first).status} {rows} {len(fake.accepted_counts())}") from None
    counts = fake.accepted_counts()
    assert max(counts.values()) == 1, [p for p, c in counts.items() if c > 1][:5]
    assert set(counts) == set(phones) - set(late)
    assert not set(counts) & (set(opted_before) | set(others))
    p1, p2 = bc.progress(seeded, first), bc.progress(seeded, second)
    assert p1["total"] == n and p1["opted_out"] == len(late) and p1["failed"] == 0
    assert p1["sent"] + p1["delivered"] == n - len(late) and p1["queued"] == 0
    assert p2["cancelled"] == len(others) and p2["sent"] + p2["delivered"] == 0
    assert bc.get(seeded, second).status == "cancelled"


def _window_attempt(rt, settings, target: str, n: int, room: float):
    """One try: a window that closes ``room`` s from now, reopens 3 s later, and a broadcast
    submitted ~4 s before it closes. None when the workers took too long to start."""
    begin = datetime.now(UTC)
    closes = begin + timedelta(seconds=room)
    opens = closes + timedelta(seconds=3)
    schedule = fixed_windows_setting([(begin - timedelta(minutes=1), closes), (opens, opens + timedelta(hours=1))])
    submit_at = closes - timedelta(seconds=4.5)  # ~4 s of sending before the window closes
    with FakeAT() as fake:
        env = at_env(fake, SMS_RATE_PER_SECOND="100", SMS_BATCH_SIZE="50", BULK_SCHEDULE=schedule)
        with running_workers(settings, count=2, env=env, args=("--sweep-every", "0.5")):
            wait_until(lambda: len(Worker.all(connection=rt.redis)) == 2, timeout=30, every=0.05)
            if datetime.now(UTC) >= submit_at - timedelta(seconds=0.5):
                return None
            wait_until(lambda: datetime.now(UTC) >= submit_at, timeout=30, every=0.05)
            first = send_now(rt, target, "Water outage Tuesday 10:00-14:00.")
            wait_until(lambda: bc.get(rt, first).status == "paused", timeout=15)
            paused_at = len(fake.accepted_counts())
            assert 0 < paused_at < n
            wait_until(lambda: quiet(rt, first), timeout=40, every=0.25)
            wait_until(lambda: bc.get(rt, first).status == "sent", timeout=10)
    return fake, closes, opens


def test_a_window_closing_mid_broadcast_pauses_it_and_the_next_window_resumes_it(seeded, settings):
    n = 600  # at 100 a second: about 6 s of sending, cut by a 3 s closed window
    soweto = centre_id(seeded, "Soweto")
    phones = [f"+2776{i:07d}" for i in range(n)]
    add_subscribers(seeded, phones, soweto)
    # The schedule is fixed when the workers start, so it must leave them room to start. On a
    # busy machine the room can be too short: that try is abandoned before anything is
    # submitted and made again with twice the room, rather than waiting the longest every time.
    for room in (8, 16, 32):
        outcome = _window_attempt(seeded, settings, f"centre:{soweto}", n, room)
        if outcome:
            fake, closes, opens = outcome
            break
    else:
        pytest.fail("the workers never started within 32 s")
    times = sorted(r.at for r in fake.requests)
    during = [t for t in times if closes.timestamp() + 0.1 < t < opens.timestamp() - 0.1]
    assert not during, "sent while the window was closed"
    assert any(t >= opens.timestamp() - 0.1 for t in times), "nothing was left for the next window"
    counts = fake.accepted_counts()
    assert set(counts) == set(phones) and set(counts.values()) == {1}
