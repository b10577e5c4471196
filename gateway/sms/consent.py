"""A phone number's standing with the service: language, consent to bulk (opt-out / opt-in)
and subscriptions to centres' notices. State only: confirmations by SMS are sent by
:mod:`gateway.sms.optout`, which sits above the outbox.

Opt-out (WASPA) takes effect for every later bulk message at once: bulk rows to that number
not yet handed to AT are skipped here, and the sender checks again when it claims a row.
Consent comes back by START, or by explicit consent to a centre's notices (SMS JOIN or
ALERTS, USSD subscribe): the same rule on both channels. A subscription may also carry consent
to office-down alerts (``alerts_at``): ALERTS OFF ends those alone, ending the subscription
ends them too, and STOP stops them with every other bulk message.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway import jobs
from gateway.store.models import Centre, Citizen, Message, Subscription, utcnow


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


def record_opt_out(rt, phone: str, sender_id: str | None = None) -> tuple[bool, str]:
    """Stop all bulk to ``phone`` now: (newly opted out?, the citizen's language).
    ``sender_id`` is the sender AT's opt-out callback named, kept on the citizen."""
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
        return not already, citizen.language


def record_opt_in(rt, phone: str) -> tuple[bool, str]:
    """Take bulk again: (was opted out?, the citizen's language)."""
    with rt.sessions.begin() as s:
        citizen = get_or_create_citizen(s, phone)
        was_out = citizen.opted_out
        citizen.opted_out, citizen.opted_in_at = False, utcnow()
        return was_out, citizen.language


def subscribe(rt, phone: str, centre_id: int, language: str, alerts: bool = False) -> tuple[str, bool]:
    """Record consent (timestamped) to one centre's notices: (the centre's name, lifted?).
    ``alerts``: also consent to a text when an office there goes down (``alerts_at``); without
    it an earlier consent to alerts stands.

    One rule on every channel: this explicit consent also lifts a global STOP (``lifted`` is
    True then, ``opted_in_at`` is set, and the confirmation must say so)."""
    now = datetime.now(UTC)
    with rt.sessions.begin() as s:
        citizen = get_or_create_citizen(s, phone, language)
        sub = s.scalar(select(Subscription).where(Subscription.citizen_id == citizen.id,
                                                  Subscription.centre_id == centre_id))
        if sub is None:
            sub = Subscription(citizen_id=citizen.id, centre_id=centre_id, consented_at=now)
            s.add(sub)
        else:
            sub.consented_at, sub.ended_at = now, None
        if alerts:
            sub.alerts_at = now
        lifted = bool(citizen.opted_out)
        if lifted:
            citizen.opted_out, citizen.opted_in_at = False, now
        return s.scalar(select(Centre.name).where(Centre.id == centre_id)) or "", lifted


def alerts_off(rt, phone: str) -> int:
    """End every office-down alert consent of ``phone`` (its centres' notices go on); how many."""
    with rt.sessions.begin() as s:
        ids = select(Subscription.id).join(Citizen).where(Citizen.phone == phone, Subscription.alerts_at.is_not(None))
        return s.execute(update(Subscription).where(Subscription.id.in_(ids)).values(alerts_at=None)
                         .execution_options(synchronize_session=False)).rowcount


def unsubscribe(rt, phone: str, centre_id: int) -> str | None:
    """End one subscription (kept as a consent record); the centre's name, None if none."""
    with rt.sessions.begin() as s:
        sub = s.scalar(select(Subscription).join(Citizen).where(
            Citizen.phone == phone, Subscription.centre_id == centre_id, Subscription.ended_at.is_(None)))
        if sub is None:
            return None
        sub.ended_at, sub.alerts_at = datetime.now(UTC), None  # alerts come with the subscription
        return s.scalar(select(Centre.name).where(Centre.id == centre_id)) or ""
