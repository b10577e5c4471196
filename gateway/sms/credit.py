"""The state of our AT account an operator must see: the pause for credit and the last send error.

Contract (the Redis hash ``sms:credit`` is the flag "bulk paused for credit"; its ``probe_at``
is when one bulk batch may try again):

- :func:`out_of_credit` — AT answered 405 (InsufficientBalance) for some recipients: set the
  flag (``since`` kept from the first 405), move ``probe_at`` ``SMS_CREDIT_PROBE_SECONDS``
  ahead, count the refusals, and log a warning once per pause.
- :func:`hold_bulk` — ``send_pending`` on the ``bulk`` queue asks before every batch. None:
  go. A time: held until then (a continuation job is scheduled for it). When ``probe_at`` has
  come, exactly one caller (SET NX) gets None — the probe, one batch — and ``probe_at`` moves
  on, so every other worker stays held.
- :func:`credit_back` — AT accepted a send (a probe, or a reply): clear the flag, log that
  sending resumed, and put replies waiting out a 405 back in the queue at once, so the
  citizens' answers go before the broadcast's rest.
- What a 405 does to the row (``gateway.sms.sending``): a bulk row goes back to ``queued``
  (it waits for the credit however long that takes); a reply goes to ``retry`` with the usual
  back-off and deadline (``SMS_RETRY_DEADLINE_SECONDS``): each retry is a probe of its own,
  and an answer hours late is worth less than a clear failure an operator can see.
- :func:`note_error` / :func:`last_error` — the last send error (time, kind, short text,
  numbers masked) for ``thusong status``; :func:`state` for ``/metrics`` and ``thusong status``.

A Redis outage never stops sending: the flag is then read as "not paused".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update

from config import mask_phone
from gateway import jobs
from gateway.sms.outbox import SEND_JOB_TIMEOUT, kick
from gateway.store.models import Message, utcnow

log = logging.getLogger(__name__)
KEY = "sms:credit"  # hash: since, probe_at (epoch seconds)
REFUSALS = "sms:credit:refusals"  # how many recipients AT refused with 405, ever (a counter)
LAST_ERROR = "sms:last_error"  # hash: at (ISO time), kind, text
REASON = "InsufficientBalance"  # failure_reason of a row waiting for credit
_MOVE_PROBE = "if redis.call('exists', KEYS[1]) == 1 then redis.call('hset', KEYS[1], 'probe_at', ARGV[1]) end"


@dataclass(frozen=True)
class CreditState:
    paused: bool
    since: float | None  # epoch seconds of the first 405 of this pause
    probe_at: float | None  # epoch seconds when one bulk batch is tried again
    refusals: int  # recipients AT refused with 405, ever


def state(rt) -> CreditState:
    """The pause as Redis holds it; Redis errors propagate (callers say 'unknown')."""
    pipe = rt.redis.pipeline(transaction=False)
    pipe.hgetall(KEY)
    pipe.get(REFUSALS)
    flag, refusals = pipe.execute()
    flag = {k.decode(): float(v) for k, v in flag.items()}
    return CreditState(bool(flag), flag.get("since"), flag.get("probe_at"), int(refusals or 0))


def out_of_credit(rt, refused: int) -> None:
    """AT refused ``refused`` recipients with 405: pause bulk until the next probe."""
    now = rt.clock.now().timestamp()
    interval = float(rt.settings.SMS_CREDIT_PROBE_SECONDS)
    try:
        pipe = rt.redis.pipeline()
        pipe.hsetnx(KEY, "since", now)
        pipe.hset(KEY, "probe_at", now + interval)
        pipe.incrby(REFUSALS, refused)
        first = pipe.execute()[0]
    except Exception:
        log.warning("redis unavailable: the pause for credit was not recorded")
        return
    if first:
        log.warning("AT answered 405 (insufficient balance): bulk SMS paused (rows stay queued), replies "
                    "keep trying; one bulk batch is tried every %.0f s until AT accepts again. "
                    "Top up the Africa's Talking account.", interval)
    else:
        log.info("still out of credit (405); next bulk probe in %.0f s", interval)


def hold_bulk(rt) -> datetime | None:
    """None if a bulk batch may go now (not paused, or this caller's turn to probe); else the
    moment of the next probe, with a send job scheduled for it."""
    try:
        raw = rt.redis.hget(KEY, "probe_at")
        if raw is None:
            return None
        now = rt.clock.now().timestamp()
        if float(raw) <= now and rt.redis.set(f"{KEY}:probe:{raw.decode()}", "1", nx=True, ex=3600):
            # Only if the flag is still there: a send accepted meanwhile has cleared it.
            rt.redis.eval(_MOVE_PROBE, 1, KEY, now + float(rt.settings.SMS_CREDIT_PROBE_SECONDS))
            log.info("out of credit: trying one bulk batch")
            return None
        raw = rt.redis.hget(KEY, "probe_at")
        if raw is None:
            return None  # cleared since we looked
        opens = datetime.fromtimestamp(float(raw), UTC)
        stamp = int(float(raw))
        if rt.redis.set(f"{KEY}:resume:{stamp}", "1", nx=True, ex=3600):
            rt.queue(jobs.QUEUE_BULK).enqueue_at(opens, jobs.SEND_PENDING, jobs.QUEUE_BULK, True,
                                                 job_timeout=SEND_JOB_TIMEOUT)
        return opens
    except Exception:
        log.warning("redis unavailable: the pause for credit is not checked")
        return None


def credit_back(rt) -> None:
    """AT accepted a send: end the pause, if there was one, and send waiting replies first."""
    try:
        pipe = rt.redis.pipeline()
        pipe.hget(KEY, "since")
        pipe.delete(KEY)
        since, _ = pipe.execute()
    except Exception:
        log.warning("redis unavailable: the pause for credit was not cleared")
        return
    if since is None:
        return
    log.warning("AT accepted a send again: SMS sending resumed after %.0f s out of credit",
                rt.clock.now().timestamp() - float(since))
    with rt.sessions.begin() as s:
        released = s.execute(update(Message).where(
            Message.direction == "out", Message.queue == jobs.QUEUE_REPLIES, Message.status == "retry",
            Message.failure_reason == REASON).values(status="queued", updated_at=utcnow())).rowcount
    if released:
        kick(rt, jobs.QUEUE_REPLIES, force=True)
    kick(rt, jobs.QUEUE_BULK, force=True)


def note_error(rt, kind: str, text: str) -> None:
    """Keep the last send error for the operator (``thusong status``); never raises."""
    try:
        rt.redis.hset(LAST_ERROR, mapping={"at": utcnow().isoformat(timespec="seconds"), "kind": kind[:64],
                                           "text": mask_phone(text)[:200]})
    except Exception:
        log.warning("redis unavailable: the last send error was not kept")


def last_error(rt) -> dict | None:
    """{'at', 'kind', 'text'} of the last send error, or None; Redis errors propagate."""
    raw = rt.redis.hgetall(LAST_ERROR)
    return {k.decode(): v.decode() for k, v in raw.items()} or None
