"""Staff setting an office's status by SMS from the phone on their account: ``STATUS HA DOWN
system offline``, or ``STATUS 12 HA DOWN`` for a clerk with several centres.

Contract: :func:`answer` is how the workers answer every stored inbound SMS. A text that
reads as a report (:func:`menus.staff_status.parse_report`: the second word an office code,
or a centre id then one) from the number of an active staff account sets the status through
:func:`gateway.staff.office_status.set_status` (the same permission, audit row and alerts as
the dashboard, ``via`` "sms") and is answered with what citizens now see, or with why nothing
changed. Anything else — every text from a number on no active account (a disabled account's
phone is a citizen's), and a staff member's own ``STATUS Soweto`` — is answered as any
citizen's text is (:func:`gateway.dialogue.inbound.answer`). Replies to staff are in English.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from gateway.dialogue import inbound as dialogue
from gateway.dialogue import office_news
from gateway.dialogue.office_status import REASONS
from gateway.dialogue.offices import CODES
from gateway.runtime import Runtime
from gateway.sms.inbound import reply_to
from gateway.staff.accounts import Member, allowed_centre_ids, member_by_phone
from gateway.staff.office_status import set_status
from gateway.store.models import Centre, Message
from menus.office_news import status_reply
from menus.render import short_centre_name
from menus.staff_status import Report, parse_report

log = logging.getLogger(__name__)
LIST_IDS = 6  # centre ids named in one reply (an SMS, not a report)
STATE_HELP = "Say UP, SLOW or DOWN after the office, e.g. STATUS HA DOWN offline."
REASON_HELP = "Reasons: " + ", ".join(f"{code} ({words})" for code, words in REASONS.items()) + "."


def answer(rt: Runtime, row: Message) -> str:
    """Answer inbound SMS ``row``: a staff status report, or as a citizen's text; the action."""
    report = parse_report(row.text, CODES, REASONS)
    member = member_by_phone(rt, row.phone) if report is not None else None
    if report is None or member is None:
        return dialogue.answer(rt, row)
    text, action = _report(rt, member, report)
    reply_to(rt, row, text)
    return action


def _report(rt: Runtime, member: Member, report: Report) -> tuple[str, str]:
    """(the reply, the action) for ``member``'s ``report``."""
    refused = "staff-status-refused"
    if report.problem == "state":
        said = f" {report.unread!r} is not a state." if report.unread else ""
        return f"Not set:{said} {STATE_HELP}", refused
    if report.problem == "reason":
        return f"Not set: {report.unread!r} is not a reason. {REASON_HELP}", refused
    centre_id = report.centre_id
    if centre_id is None:
        allowed = allowed_centre_ids(member)
        if allowed is not None and len(allowed) == 1:
            centre_id = next(iter(allowed))
        elif allowed is not None and not allowed:
            return "Not set: your account has no centre. Ask an admin to add yours.", refused
        else:
            return _which_centre(rt, allowed, report), refused
    try:
        status = set_status(rt, member, centre_id, report.office, report.state, report.reason, via="sms")
    except ValueError as exc:  # StaffError (scope), OfficeError (office, centre): fit to show
        return f"Not set: {exc}.", refused
    log.info("office status by sms: centre %s %s %s (staff %s)", centre_id, status.office, status.state, member.id)
    seen = status_reply("en", _centre_name(rt, centre_id), list(office_news.news(rt, centre_id)))
    return f"Set until midnight. Citizens now see: {seen}", "staff-status"


def _which_centre(rt: Runtime, allowed: frozenset[int] | None, report: Report) -> str:
    example = f"STATUS <id> {report.office} {report.state.upper()}"
    if allowed is None:
        return f"Not set: say which centre, e.g. {example} (ids: thusong centres list)."
    with rt.sessions() as s:
        names = s.execute(select(Centre.id, Centre.name).where(Centre.id.in_(allowed)).order_by(Centre.id)).all()
    listed = "; ".join(f"{cid} {short_centre_name(name)}" for cid, name in names[:LIST_IDS])
    more = "; ..." if len(names) > LIST_IDS else ""
    return f"Not set: you have several centres, so add its id: {example}. Yours: {listed}{more}"


def _centre_name(rt: Runtime, centre_id: int) -> str:
    with rt.sessions() as s:
        return s.scalar(select(Centre.name).where(Centre.id == centre_id)) or f"Centre {centre_id}"
