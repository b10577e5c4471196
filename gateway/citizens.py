"""A phone number's standing with the service: language and consent (opt-out / opt-in).

Opt-out (WASPA): takes effect for every later bulk message at once — queued bulk messages to
that number are skipped — and is confirmed by one SMS, except when AT's own opt-out list
told us (AT has already confirmed to the citizen).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway import jobs
from gateway.models import Citizen, Message, utcnow


def get_or_create_citizen(session: Session, phone: str, language: str | None = None) -> Citizen:
    """The citizen row for an E.164 ``phone`` inside ``session`` (created if new)."""
    citizen = session.scalar(select(Citizen).where(Citizen.phone == phone))
    if citizen is None:
        citizen = Citizen(phone=phone, language=language or "en")
        try:
            with session.begin_nested():
                session.add(citizen)
        except IntegrityError:  # another process created it first
            citizen = session.scalar(select(Citizen).where(Citizen.phone == phone))
    return citizen


def language_of(rt, phone: str) -> str:
    with rt.sessions() as s:
        return s.scalar(select(Citizen.language).where(Citizen.phone == phone)) or "en"


def set_language(rt, phone: str, code: str) -> None:
    with rt.sessions.begin() as s:
        get_or_create_citizen(s, phone, code).language = code


def is_opted_out(rt, phone: str) -> bool:
    with rt.sessions() as s:
        return bool(s.scalar(select(Citizen.opted_out).where(Citizen.phone == phone)))


def opt_out(rt, phone: str, source: str, confirm: bool = True, lang: str | None = None,
            sender_id: str | None = None) -> bool:
    """Stop all bulk messages to ``phone`` now. Returns False if it was already opted out.
    The confirmation is in ``lang`` (the language the citizen wrote in) or the stored one;
    ``sender_id`` is the sender AT's opt-out callback named, kept on the citizen."""
    from gateway import outbox

    with rt.sessions.begin() as s:
        citizen = get_or_create_citizen(s, phone)
        already = citizen.opted_out
        citizen.opted_out, citizen.opted_out_at = True, utcnow()
        if sender_id:
            citizen.opt_out_sender_id = sender_id
        # Bulk rows not yet handed to AT are never sent now.
        s.execute(update(Message).where(Message.phone == phone, Message.direction == "out",
                                        Message.queue == jobs.QUEUE_BULK, Message.status == "queued")
                  .values(status="skipped", failure_reason="OptedOut"))
        lang = lang or citizen.language
    if confirm and not already:
        from menus.keywords import reply_text

        outbox.queue_sms(rt, phone, reply_text("stop", lang), key=f"optout-confirm:{phone}:{utcnow():%Y%m%d%H%M}",
                         queue=jobs.QUEUE_REPLIES)
    return not already


def opt_in(rt, phone: str, confirm: bool = True, lang: str | None = None) -> bool:
    """Take bulk messages again (START). Returns False if it was not opted out."""
    from gateway import outbox

    with rt.sessions.begin() as s:
        citizen = get_or_create_citizen(s, phone)
        was_out = citizen.opted_out
        citizen.opted_out, citizen.opted_in_at = False, utcnow()
        lang = lang or citizen.language
    if confirm:
        from menus.keywords import reply_text

        outbox.queue_sms(rt, phone, reply_text("start", lang), key=f"optin-confirm:{phone}:{utcnow():%Y%m%d%H%M}",
                         queue=jobs.QUEUE_REPLIES)
    return was_out
