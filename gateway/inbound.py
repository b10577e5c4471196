"""Inbound SMS: stored first, answered by a worker.

Contract: :func:`store` writes the SMS as a ``Message`` row keyed by AT's ``id`` and only then
lets the webhook answer 200; a repeat of the same ``id`` (AT retries for 12 h) returns False and
changes nothing. Processing runs in a worker on the ``replies`` queue; :func:`requeue_stale`
picks up rows whose job never ran (Redis was down when the SMS arrived).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway import jobs
from gateway.channels.africastalking import InboundSms
from gateway.models import Message

log = logging.getLogger(__name__)


def inbound_key(at_id: str) -> str:
    return f"at-in:{at_id}"


def store(rt, sms: InboundSms) -> bool:
    """Persist ``sms``; enqueue its processing. False if AT already gave us this id."""
    try:
        with rt.sessions.begin() as session:
            row = Message(direction="in", idempotency_key=inbound_key(sms.at_id), phone=sms.phone,
                          text=sms.text, status="received", at_message_id=sms.at_id,
                          link_id=sms.link_id)
            session.add(row)
    except IntegrityError:
        return False
    try:
        rt.queue(jobs.QUEUE_REPLIES).enqueue(jobs.HANDLE_INBOUND, row.id, job_id=f"inbound-{row.id}")
    except Exception:
        # Stored is what matters for AT's 200; the sweeper enqueues it once Redis is back.
        log.warning("inbound sms %s stored but not queued; the sweeper will pick it up", row.id)
    return True


def requeue_stale(rt, older_than: float = 60.0) -> int:
    """Enqueue again inbound rows still 'received' after ``older_than`` seconds."""
    cutoff = rt.clock.now() - timedelta(seconds=older_than)
    with rt.sessions() as session:
        ids = list(session.scalars(
            select(Message.id).where(Message.direction == "in", Message.status == "received",
                                     Message.created_at < cutoff)
        ))
    for message_id in ids:
        rt.queue(jobs.QUEUE_REPLIES).enqueue(jobs.HANDLE_INBOUND, message_id, job_id=f"inbound-{message_id}")
    return len(ids)


def process(rt, message_id: int) -> str:
    """Answer one stored inbound SMS (runs in a worker). Idempotent: a second run of the same
    message does nothing, and the reply's outbox key is derived from the inbound row."""
    from sqlalchemy import update

    from gateway import citizens, outbox
    from menus.keywords import parse

    with rt.sessions.begin() as s:
        claimed = s.execute(update(Message).where(Message.id == message_id, Message.status == "received")
                            .values(status="processing")).rowcount
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
