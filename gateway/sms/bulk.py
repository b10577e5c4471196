"""What is special about sending bulk rows: quiet hours and the state of the broadcasts the
rows belong to (consent is checked again when a row is claimed: ``sending._claim``).

Contract, for :func:`gateway.sms.sending.send_pending` on the ``bulk`` queue only (replies are
never held):
- :func:`hold_if_quiet` — outside the bulk window (:mod:`gateway.sms.quiet_hours`, or the
  ``BULK_SCHEDULE`` override) pauses every sending broadcast and makes sure one send job is
  scheduled (RQ ``enqueue_at``) for the moment the next window opens; returns that moment.
  Called before every batch, so a broadcast still running when the window closes pauses.
  Service notices (:func:`is_notice`: rows keyed :data:`NOTICE_PREFIX`, an office-down alert
  about a trip today) are not held: the send job sends them alone while bulk is quiet. They
  are still bulk — opt-out checked when written and when claimed, STOP ends them.
- :func:`resume_paused` — inside the window: paused broadcasts are sending again.
- :func:`finish_done` — a broadcast whose rows are all written and none is waiting is ``sent``
  (one log line with its counts); :func:`log_progress` — a line per broadcast now and then.
- :func:`restart_stalled_fan_outs` (the sweeper) — a fan-out job a dead worker lost runs again.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import and_, exists, func, or_, select, update

from gateway import jobs
from gateway.sms.outbox import SEND_JOB_TIMEOUT
from gateway.sms.quiet_hours import next_allowed, schedule_from_setting
from gateway.store.models import BROADCAST_TRANSITIONS, Broadcast, Message, utcnow

log = logging.getLogger(__name__)
WAITING = ("queued", "sending", "retry", "unknown")  # a row not yet settled one way or the other
PROGRESS_EVERY = 10.0  # seconds between two progress lines for one broadcast
_last_progress: dict[int, float] = {}  # broadcast id → when this process last logged it


NOTICE_PREFIX = "notice:"  # the outbox key of a service notice: quiet hours do not hold it


def is_notice():
    """The condition a service notice's row meets (its key starts with :data:`NOTICE_PREFIX`)."""
    return Message.idempotency_key.startswith(NOTICE_PREFIX, autoescape=True)


def schedule_of(settings):
    """The bulk schedule in force (the CPA rule unless ``BULK_SCHEDULE`` overrides it)."""
    return _schedule(settings.BULK_SCHEDULE)


@lru_cache(maxsize=4)
def _schedule(value: str):
    return schedule_from_setting(value)


def transition(name: str, *where):
    """An UPDATE moving broadcasts along the named transition (and only from its sources)."""
    sources, target = BROADCAST_TRANSITIONS[name]
    return (update(Broadcast).where(Broadcast.status.in_(sources), *where)
            .values(status=target, updated_at=utcnow()).execution_options(synchronize_session=False))


def hold_if_quiet(rt) -> datetime | None:
    """None if bulk may go now; else the moment it may, with a send job scheduled for it."""
    now = rt.clock.now()
    opens = next_allowed(now, schedule_of(rt.settings))
    if opens <= now:
        return None
    with rt.sessions.begin() as s:
        s.execute(transition("pause"))
    # Every send job that meets the closed window comes here: one continuation per opening.
    stamp = int(opens.timestamp())
    try:
        if rt.redis.set(f"sms:bulk:resume:{stamp}", "1", nx=True, exat=stamp + 3600):
            rt.queue(jobs.QUEUE_BULK).enqueue_at(opens, jobs.SEND_PENDING, jobs.QUEUE_BULK, True,
                                                 job_timeout=SEND_JOB_TIMEOUT)
            log.info("bulk held by quiet hours until %s", opens.isoformat())
    except Exception:
        log.warning("could not schedule the bulk continuation; the sweeper will kick it")
    return opens


def resume_paused(rt) -> None:
    with rt.sessions.begin() as s:
        s.execute(transition("resume"))


def finish_done(rt) -> int:
    """Mark sent every sending broadcast with all rows written and none waiting; how many."""
    waiting = exists().where(Message.broadcast_id == Broadcast.id, Message.status.in_(WAITING))
    with rt.sessions.begin() as s:
        done = list(s.scalars(transition("finish", Broadcast.fanned_out_at.is_not(None), ~waiting)
                              .returning(Broadcast.id)))
    for broadcast_id in done:
        log.info("broadcast %s finished: %s", broadcast_id, _counts_text(rt, broadcast_id))
    return len(done)


def log_progress(rt, broadcast_ids: set[int | None]) -> None:
    """One line per broadcast every :data:`PROGRESS_EVERY` seconds at most (per process), from
    a count of its rows: a person follows a broadcast of thousands without a line per batch."""
    now = time.monotonic()
    for broadcast_id in sorted(i for i in broadcast_ids if i is not None):
        if now - _last_progress.get(broadcast_id, float("-inf")) < PROGRESS_EVERY:
            continue
        _last_progress[broadcast_id] = now
        log.info("broadcast %s sending: %s", broadcast_id, _counts_text(rt, broadcast_id))


def _counts_text(rt, broadcast_id: int) -> str:
    """``"120 of 1000 settled (118 sent, 2 not sent)"`` from one grouped count of its rows."""
    with rt.sessions() as s:
        counts = dict(s.execute(select(Message.status, func.count()).where(Message.broadcast_id == broadcast_id)
                                .group_by(Message.status)).all())
    total = sum(counts.values())
    sent = sum(counts.get(status, 0) for status in ("sent", "simulated", "delivered"))
    waiting = sum(counts.get(status, 0) for status in WAITING)
    return f"{total - waiting} of {total} settled ({sent} sent, {total - waiting - sent} not sent)"


def restart_stalled_fan_outs(rt, lease: timedelta) -> int:
    """Queue the fan-out again for broadcasts whose fan-out job was lost: started but silent
    (no chunk for ``lease``; a killed worker), or due and never started. The fan-out writes
    only missing rows, so a second run is harmless."""
    now = utcnow()
    with rt.sessions() as s:
        started_silent = and_(Broadcast.status.in_(("sending", "paused")), Broadcast.fanned_out_at.is_(None))
        due_unstarted = and_(Broadcast.status == "scheduled", Broadcast.scheduled_at < now - lease)
        ids = list(s.scalars(select(Broadcast.id).where(or_(started_silent, due_unstarted),
                                                        Broadcast.updated_at < now - lease)))
    for broadcast_id in ids:
        rt.queue(jobs.QUEUE_BULK).enqueue(jobs.FAN_OUT, broadcast_id, job_timeout=jobs.FAN_OUT_TIMEOUT)
    return len(ids)
