"""STOP and START from any channel (SMS keyword, USSD choice, AT's callbacks): the consent
change and the SMS that confirms it.

Contract: :func:`opt_out` stops all bulk to the number at once and, unless told not to
(AT's own opt-out list has already told the citizen), confirms by SMS in the citizen's
language; it returns False if the number was already opted out. :func:`opt_in` is START.
"""

from __future__ import annotations

from gateway import jobs
from gateway.sms import consent
from gateway.sms.outbox import queue_sms
from gateway.store.models import utcnow
from menus.keywords import reply_text


def opt_out(rt, phone: str, source: str, confirm: bool = True, lang: str | None = None) -> bool:
    """Stop all bulk messages to ``phone`` now. Returns False if it was already opted out.
    The confirmation is in ``lang`` (the language the citizen wrote in) or the stored one.
    ``source`` says who asked (sms-stop, ussd, at-optout, at-406, delivery-report)."""
    newly, stored = consent.record_opt_out(rt, phone)
    if confirm and newly:
        queue_sms(rt, phone, reply_text("stop", lang or stored),
                  key=f"optout-confirm:{phone}:{utcnow():%Y%m%d%H%M}", queue=jobs.QUEUE_REPLIES)
    return newly


def opt_in(rt, phone: str, confirm: bool = True, lang: str | None = None) -> bool:
    """Take bulk messages again (START). Returns False if it was not opted out."""
    was_out, stored = consent.record_opt_in(rt, phone)
    if confirm:
        queue_sms(rt, phone, reply_text("start", lang or stored),
                  key=f"optin-confirm:{phone}:{utcnow():%Y%m%d%H%M}", queue=jobs.QUEUE_REPLIES)
    return was_out
