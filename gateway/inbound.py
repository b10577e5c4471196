"""Inbound SMS: stored first, answered by a worker.

Contract: :func:`store` writes the SMS as a ``Message`` row keyed by AT's ``id`` and only then
lets the webhook answer 200; a repeat of the same ``id`` (AT retries for 12 h) returns False and
changes nothing. Processing runs in a worker on the ``replies`` queue: :func:`drain` answers
every stored row, oldest first. One waiting drain job is enough, so ``store`` queues one only
when none is waiting (a Redis flag the job clears before it looks for rows): under a burst the
webhook costs one insert and one SET, not an RQ enqueue per SMS. :func:`requeue_stale` (the
sweeper) covers a job that never ran (Redis down when the SMS arrived) and a worker killed
mid-answer.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from gateway import jobs
from gateway.channels.africastalking import InboundSms
from gateway.models import Message, insert_message, utcnow

log = logging.getLogger(__name__)
KICK_FLAG = "sms:in:kick"
PROCESSING_LEASE = timedelta(minutes=5)
DRAIN_SLICE_SECONDS = 60.0
DRAIN_JOB_TIMEOUT = 300


def inbound_key(at_id: str) -> str:
    return f"at-in:{at_id}"


def store(rt, sms: InboundSms) -> bool:
    """Persist ``sms``; make sure a drain job will answer it. False if AT already gave us this id."""
    try:
        message_id = insert_message(
            rt.engine, direction="in", idempotency_key=inbound_key(sms.at_id), phone=sms.phone,
            text=sms.text, status="received", at_message_id=sms.at_id, link_id=sms.link_id, sent_to=sms.to,
            network_code=sms.network_code, cost=sms.cost)
    except IntegrityError:
        return False
    try:
        kick(rt)
    except Exception:
        # Stored is what matters for AT's 200; the sweeper queues a drain once Redis is back.
        log.warning("inbound sms %s stored but not queued; the sweeper will pick it up", message_id)
    return True


def kick(rt, force: bool = False) -> None:
    """Queue a drain job unless one is already waiting (:func:`gateway.jobs.enqueue_once`)."""
    jobs.enqueue_once(rt, jobs.QUEUE_REPLIES, jobs.DRAIN_INBOUND, flag=KICK_FLAG,
                      job_timeout=DRAIN_JOB_TIMEOUT, force=force)


def drain(rt, batch: int = 50, slice_seconds: float = DRAIN_SLICE_SECONDS) -> int:
    """Answer every stored inbound SMS, oldest first; returns how many this call answered.

    Safe with several workers draining at once: :func:`process` claims each row atomically.
    After ``slice_seconds`` it queues its continuation and returns (a job must end well
    inside its RQ timeout, or it is killed mid-answer).
    """
    import time

    deadline = time.monotonic() + slice_seconds
    jobs.started(rt, KICK_FLAG)
    handled, after = 0, 0
    while True:
        if time.monotonic() > deadline:
            kick(rt, force=True)
            return handled
        with rt.sessions() as session:
            ids = list(session.scalars(
                select(Message.id).where(Message.direction == "in", Message.status == "received",
                                         Message.id > after).order_by(Message.id).limit(batch)))
        if not ids:
            return handled
        for message_id in ids:
            if process(rt, message_id) != "already-handled":
                handled += 1
        after = ids[-1]


def requeue_stale(rt, older_than: float = 60.0) -> int:
    """Queue a drain when rows wait longer than ``older_than`` seconds; rows a killed worker
    left 'processing' for longer than the lease go back to 'received' (the reply's outbox key
    is derived from the row, so answering twice never sends twice)."""
    now = rt.clock.now()
    with rt.sessions.begin() as session:
        session.execute(update(Message).where(
            Message.direction == "in", Message.status == "processing",
            Message.updated_at < now - PROCESSING_LEASE).values(status="received", updated_at=now))
        waiting = session.scalar(select(Message.id).where(
            Message.direction == "in", Message.status == "received",
            Message.created_at < now - timedelta(seconds=older_than)).limit(1))
    if waiting is not None:
        kick(rt, force=True)
        return 1
    return 0


def process(rt, message_id: int) -> str:
    """Answer one stored inbound SMS (runs in a worker). Idempotent: a second run of the same
    message does nothing, and the reply's outbox key is derived from the inbound row."""
    from gateway import citizens, outbox
    from menus.keywords import parse

    with rt.sessions.begin() as s:
        claimed = s.execute(update(Message).where(Message.id == message_id, Message.status == "received")
                            .values(status="processing", updated_at=utcnow())).rowcount
        row = s.get(Message, message_id)
    if not claimed or row is None:
        return "already-handled"
    command = parse(row.text)
    stored = citizens.language_of(rt, row.phone)
    lang = command.language if command.language and command.language != "en" else stored
    reply = _answer(rt, row.phone, command, lang)
    if reply:
        outbox.queue_sms(rt, row.phone, reply, key=f"reply:{row.id}")
    with rt.sessions.begin() as s:
        s.execute(update(Message).where(Message.id == message_id).values(status="processed"))
    return command.action


def _answer(rt, phone: str, command, lang: str) -> str | None:
    """The reply text for a command, or None when no reply is due (rate-limited help)."""
    from gateway import citizens
    from menus.keywords import language_from_name, nearest_reply, reply_text, services_reply

    code = rt.settings.USSD_SERVICE_CODE
    action, arg = command.action, command.argument
    if action == "stop":
        citizens.opt_out(rt, phone, source="sms-stop", confirm=True, lang=lang)  # confirmation queued there
        return None
    if action == "start":
        citizens.opt_in(rt, phone, confirm=True, lang=lang)
        return None
    if action == "help":
        return reply_text("help", lang, code=code)
    if action == "lang":
        new = language_from_name(arg)
        if new is None:
            return reply_text("lang_unknown", lang)
        citizens.set_language(rt, phone, new)
        return reply_text("lang", new)
    if action in ("nearest", "services", "join"):
        if not arg and action != "join":
            return reply_text("help", lang, code=code)
        result = rt.directory.nearest(arg or "", 3) if arg else None
        if action == "join" and not arg:
            return reply_text("help", lang, code=code)
        if result is None or not result.centres:
            return reply_text("not_found", lang, place=arg[:40])
        if action == "nearest":
            centres = [{"name": n.centre.name, "town": n.centre.town, "phone": n.centre.phone,
                        "distance_km": n.distance_km} for n in result.centres]
            return nearest_reply(lang, result.place.name, centres)
        first = result.centres[0].centre
        if action == "services":
            from gateway.ussd_ports import UssdPorts

            details = UssdPorts(rt, phone, "sms", lang).centre(first.id)
            names = [n for _b, items in (details.services_by_block if details else []) for n in items]
            return services_reply(lang, first.name, names)
        return _join(rt, phone, first.id, first.name, lang)
    # unknown: a short help, at most once per number per hour (never a reply storm)
    if rt.redis.set(f"unknown-help:{phone}", "1", nx=True, ex=3600):
        return reply_text("unknown", lang, code=code)
    return None


def _join(rt, phone: str, centre_id: int, centre_name: str, lang: str) -> str:
    from datetime import UTC, datetime

    from gateway import citizens
    from gateway.models import Subscription
    from menus.keywords import reply_text
    from menus.render import short_centre_name

    now = datetime.now(UTC)
    with rt.sessions.begin() as s:
        citizen = citizens.get_or_create_citizen(s, phone, lang)
        sub = s.scalar(select(Subscription).where(Subscription.citizen_id == citizen.id,
                                                  Subscription.centre_id == centre_id))
        if sub is None:
            s.add(Subscription(citizen_id=citizen.id, centre_id=centre_id, consented_at=now))
        else:
            sub.consented_at, sub.ended_at = now, None
        citizen.opted_out = False
    return reply_text("joined", lang, centre=short_centre_name(centre_name))
