"""Check, then send: what a sender confirms, and the proof the confirm is about what they saw.

A send from the dashboard is two posts. The first shows :func:`check` — the exact text, the
recipients after opt-outs, segments, cost, when it starts and whether it waits for an
approver — and stores nothing. The confirm page carries :func:`digest_of` that check (with
the recipient count it showed and a one-time token). The second post calls :func:`confirm`,
which checks again and refuses (:class:`Moved`, nothing stored or sent) when the text,
audience, language, asked time, start or the two-person rule differ from what was shown, or
when the recipient count moved materially (:func:`moved_materially`); a small drift (a few
people subscribing meanwhile) goes through. :func:`claim` lets each confirm page send once:
a second post of the same page (a double click, a browser's resend) is :class:`AlreadySent`.

Contract: :func:`check` and :func:`confirm` never write; the caller creates the broadcast
only after :func:`confirm` returned and :func:`claim` said yes.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import RedisError

from gateway.runtime import Runtime
from gateway.staff.broadcasts import (
    Actor,
    BroadcastError,
    Start,
    compose,
    needs_approval,
    start_of,
    utc,
)
from gateway.staff.preview import Preview
from gateway.staff.seen import digest, same

log = logging.getLogger(__name__)
MATERIAL_PEOPLE = 5  # a move of this many recipients or fewer never needs a second look …
MATERIAL_SHARE = 0.05  # … nor one of at most 5 % of those shown
ONCE_SECONDS = 24 * 3600  # how long a confirm page's token stays spent
TOKEN_CHARS = 32


class Moved(BroadcastError):
    """What would be sent is no longer what the confirm page showed; nothing was stored."""


class AlreadySent(BroadcastError):
    """This confirm page was posted before (a double click): the first post sent it."""


@dataclass(frozen=True)
class Check:
    """What a confirm page restates: ``spec`` (normalised target), ``language``, ``at`` (the
    time asked; None: now), the :class:`Preview` (text, segments, recipients, cost), the
    :class:`Start` and whether the send waits for an approver."""

    spec: str
    language: str | None
    at: datetime | None
    preview: Preview
    start: Start
    needs_approval: bool


def check(rt: Runtime, actor: Actor, spec: str, text: str, language: str | None, at: datetime | None) -> Check:
    """What sending this now would do (raises what :func:`~gateway.staff.broadcasts.compose`
    raises: a bad target, one outside the actor's centres, an empty text)."""
    spec, preview = compose(rt, spec, text, language, actor)
    return Check(spec, language or None, utc(at), preview, start_of(rt, at=at), needs_approval(rt, actor))


def new_token() -> str:
    return secrets.token_hex(TOKEN_CHARS // 2)


def digest_of(actor: Actor, shown: Check, recipients: int, token: str) -> str:
    """The digest a confirm page carries: who sends, the audience, language, exact text, the
    asked time, the start (``now`` or its minute), the two-person rule, the count shown and
    the page's one-time token."""
    start = "now" if shown.start.now else utc(shown.start.at).isoformat(timespec="minutes")
    return digest("send", actor.staff_id, shown.spec, shown.language, shown.preview.text,
                  shown.at.isoformat() if shown.at else None, start, shown.needs_approval, recipients, token)


def moved_materially(seen: int, now: int) -> bool:
    """Whether a recipient count of ``now`` is too far from the ``seen`` one to send unseen."""
    return abs(now - seen) > max(MATERIAL_PEOPLE, seen * MATERIAL_SHARE)


def confirm(rt: Runtime, actor: Actor, spec: str, text: str, language: str | None, at: datetime | None,
            seen: str, seen_recipients: int, token: str) -> Check:
    """The check again, if it is still what the page showed (else :class:`Moved`, saying what)."""
    now = check(rt, actor, spec, text, language, at)
    if not same(seen, digest_of(actor, now, seen_recipients, token)):
        raise Moved("This changed since you checked it (the message, the audience, the time or the approval "
                    "rule): nothing was sent. Read it again, then send.")
    if moved_materially(seen_recipients, now.preview.recipients):
        raise Moved(f"The recipients changed from {seen_recipients} to {now.preview.recipients} since you checked: "
                    "nothing was sent. Read it again, then send.")
    return now


def claim(rt: Runtime, token: str) -> None:
    """Spend the confirm page's ``token`` (:class:`AlreadySent` if spent). With Redis down the
    send goes ahead: a broadcast must not wait on Redis (see ``_schedule``), and a double
    click in that minute is the lesser harm."""
    try:
        fresh = rt.redis.set(f"staff:send-once:{token}", 1, nx=True, ex=ONCE_SECONDS)
    except RedisError as exc:
        log.warning("confirm token not checked (%s): sending without the double-post guard", exc)
        return
    if not fresh:
        raise AlreadySent("This page was already sent (a second click or a reload): see the broadcast list.")
