"""Staff invitations: a one-time link with which the owner of an account sets its password, so
that no administrator ever invents (or knows) someone else's password.

Contract:

- :func:`invite` makes a token (256 random bits, URL-safe), stores only its SHA-256 with an
  expiry (``STAFF_INVITE_HOURS``) and deletes the account's earlier invitations, whose links
  stop working at once. The token is returned once: the caller shows it (and may text it,
  :func:`text_link`) and keeps it nowhere. Audited as ``staff.invited``.
- :func:`pending` is the account a token opens, or ``None`` for every kind of refusal (no such
  token, used, expired, replaced, account disabled): one answer, so a link tells nobody which.
- :func:`accept` sets the password (the ordinary rules, :func:`~gateway.staff.accounts.
  checked_password_hash`) and uses the invitation up in one transaction; the use is a
  conditional update (``used_at`` still empty), so two submissions of one link, even at the
  same moment, set one password. A password the rules refuse leaves the link usable. The account's open sessions end (its stamp changes).
  Audited as ``staff.invitation_used`` (or ``staff.invitation_refused``).
- :func:`text_link` queues the link to the account's own phone on the replies queue, as
  :mod:`gateway.staff.own_phone` does; audited as ``staff.invite_texted``, the number masked.
  Once the invitation is used or replaced, the text of that SMS in the outbox is blanked, so
  the link is not left in the message log.

Refusals raise :class:`InvitationError` (a :class:`~gateway.staff.accounts.StaffError`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from config import mask_phone
from gateway import jobs
from gateway.clock import SAST
from gateway.runtime import Runtime
from gateway.sms.outbox import queue_sms
from gateway.staff import audit
from gateway.staff.accounts import Member, StaffError, checked_password_hash, get_member
from gateway.store.models import Message, Staff, StaffInvitation, as_utc

TOKEN_BYTES = 32
KEY_PREFIX = "staff-invite"  # outbox keys: staff-invite:<staff id>:<invitation id>
BLANKED = "(invitation link removed: used or replaced)"


class InvitationError(StaffError):
    """The link cannot set a password: wrong, used, expired, replaced, or its account is
    disabled (one message for all), or the account has no phone to text it to."""


REFUSED = "This link does not work: it was used, replaced by a newer one, or it expired. Ask an administrator for a new invitation."


@dataclass(frozen=True)
class Invitation:
    """A new invitation: the token (shown once, stored nowhere) and when it stops working."""

    member: Member
    token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    """The only form of a token the database keeps (the token has 256 random bits: a fast
    hash is enough, nothing to guess)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _blank_texts(session: Session, staff_id: int) -> None:
    """Empty the outbox text of every invitation SMS sent to the account (its links are dead)."""
    session.execute(update(Message).where(Message.idempotency_key.like(f"{KEY_PREFIX}:{staff_id}:%"))
                    .values(text=BLANKED))


def invite(rt: Runtime, member: Member, actor: Member | str, address: str | None = None) -> Invitation:
    """A new invitation for ``member`` (earlier ones void); audited as done by ``actor``."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = rt.clock.now()
    expires = now + timedelta(hours=rt.settings.STAFF_INVITE_HOURS)
    by = actor.email if isinstance(actor, Member) else actor
    with rt.sessions.begin() as session:
        session.execute(delete(StaffInvitation).where(StaffInvitation.staff_id == member.id))
        _blank_texts(session, member.id)
        session.add(StaffInvitation(staff_id=member.id, token_hash=token_hash(token), created_by=by[:254],
                                    created_at=now, expires_at=expires))
        audit.record(session, actor, "staff.invited", target=member.email, address=address,
                     # Read by people on the audit page: South African time, as every time there.
                     detail={"expires": as_utc(expires).astimezone(SAST).strftime("%a %-d %b %Y %H:%M SAST")})
    return Invitation(member, token, expires)


def _live(session: Session, token: str, now: datetime) -> StaffInvitation | None:
    row = session.scalar(select(StaffInvitation).where(StaffInvitation.token_hash == token_hash(token)))
    if row is None or row.used_at is not None or as_utc(row.expires_at) <= now:
        return None
    return row


def pending(rt: Runtime, token: str) -> Member | None:
    """The active account ``token`` may set a password for, or ``None``."""
    with rt.sessions() as session:
        row = _live(session, token, rt.clock.now())
        member = get_member(rt.sessions, row.staff_id) if row else None
    return member if member is not None and member.active else None


def accept(rt: Runtime, token: str, password: str, address: str | None = None) -> Member:
    """Set the password of the account ``token`` opens, and use the invitation up."""
    password_hash = checked_password_hash(password)  # a weak password leaves the link usable
    now = rt.clock.now()
    with rt.sessions.begin() as session:
        row = _live(session, token, now)
        account = session.get(Staff, row.staff_id) if row else None
        done = account is not None and account.active and session.execute(
            update(StaffInvitation).where(StaffInvitation.id == row.id, StaffInvitation.used_at.is_(None))
            .values(used_at=now)).rowcount == 1
        if done:
            account.password_hash = password_hash
            account.session_epoch = Staff.session_epoch + 1
            _blank_texts(session, account.id)
        staff_id, email = (account.id, account.email) if account else (None, None)
    if not done:
        refuse(rt, token, address)
    member = get_member(rt.sessions, staff_id)
    audit.record(rt, member, "staff.invitation_used", target=member.email, address=address)
    return member


def refuse(rt: Runtime, token: str, address: str | None = None) -> NoReturn:
    """Audit a password posted through a link that does not work (naming the account when the
    token was once one of its invitations), then raise :class:`InvitationError`."""
    with rt.sessions() as session:
        email = session.scalar(select(Staff.email).join(StaffInvitation, StaffInvitation.staff_id == Staff.id)
                               .where(StaffInvitation.token_hash == token_hash(token)))
    audit.record(rt, email or "invitation link", "staff.invitation_refused", target=email, address=address)
    raise InvitationError(REFUSED)


def text_link(rt: Runtime, invitation: Invitation, link: str, actor: Member | str,
              address: str | None = None) -> str:
    """Text ``link`` (the invitation's page) to the account's own phone; the number, masked."""
    member = invitation.member
    if not member.phone:
        raise InvitationError(f"{member.email} has no mobile number to text the link to.")
    with rt.sessions() as session:
        invitation_id = session.scalar(select(StaffInvitation.id)
                                       .where(StaffInvitation.token_hash == token_hash(invitation.token)))
    if invitation_id is None:
        raise InvitationError(REFUSED)
    hours = rt.settings.STAFF_INVITE_HOURS
    body = (f"Thusong dashboard: set your password within {hours} hours at {link} "
            "(the link works once). Ignore this if you did not expect it.")
    queue_sms(rt, member.phone, body, f"{KEY_PREFIX}:{member.id}:{invitation_id}", queue=jobs.QUEUE_REPLIES)
    masked = mask_phone(member.phone)
    audit.record(rt, actor, "staff.invite_texted", target=member.email, address=address, detail={"phone": masked})
    return masked
