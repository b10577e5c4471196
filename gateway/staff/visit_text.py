"""What a service visit's messages say (English, as staff broadcasts are written).

Contract: each function returns the author's part of one SMS; the broadcast adds the prefix
and the opt-out line (:func:`gateway.staff.preview.full_text`). :func:`centre_name` is the
short name the texts use, or :class:`LookupError` for a centre that does not exist.

The notice's wording is the author's to edit (``Visit.notice``; None: :data:`NOTICE`) with the
placeholder rules the translations follow: it keeps each of :data:`PLACEHOLDERS` — the visit's
facts, filled from the visit, so the words never announce a day or a service the visit does
not have — invents none, and has balanced braces (:func:`check_notice`, ``ValueError`` saying
what is wrong); at most :data:`NOTICE_CHARS` characters.
"""

from __future__ import annotations

import string

from sqlalchemy import select

from gateway.store.models import Centre, Visit
from menus.render import short_centre_name
from menus.visits import short_day


def when_text(d) -> str:
    """``Mon 7 Dec, 09:00-14:00`` for a visit or its details."""
    return f"{short_day(d.day, 'en')}, {d.starts:%H:%M}-{d.ends:%H:%M}"


NOTICE = "{service} at {centre}, {when}."
PLACEHOLDERS = ("service", "centre", "when")
NOTICE_CHARS = 400  # the wording with its placeholders: about two SMS once filled


def placeholders_in(text: str) -> list[str]:
    """Each ``{…}`` of ``text`` as written (``{when:>9}`` whole), or ValueError on unbalanced braces."""
    found = []
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is not None:
            found.append("{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")
    return found


def check_notice(text: str | None) -> str | None:
    """The notice's wording tidied (None: the standard one), or ValueError saying what breaks
    the rules: too long, braces unbalanced, a placeholder lost or one that cannot be filled."""
    text = " ".join((text or "").split())
    if not text or text == NOTICE:
        return None
    if len(text) > NOTICE_CHARS:
        raise ValueError(f"the notice is {len(text)} characters: at most {NOTICE_CHARS}")
    try:
        used = placeholders_in(text)
    except ValueError as exc:
        raise ValueError(f"unbalanced braces in the notice ({exc}): write placeholders as {{service}}") from None
    known = {"{" + p + "}" for p in PLACEHOLDERS}
    extra = [p for p in dict.fromkeys(used) if p not in known]
    if extra:
        raise ValueError("the notice has " + ", ".join(extra) + ": only {service}, {centre} and {when} are filled in")
    lost = [p for p in PLACEHOLDERS if "{" + p + "}" not in used]
    if lost:
        raise ValueError("the notice must keep " + ", ".join("{" + p + "}" for p in lost)
                         + ": the visit's facts are filled in there")
    return text


def notice_text(v, centre: str) -> str:
    """The notice of ``v`` (a visit, or details with ``notice``): its wording, filled."""
    wording = getattr(v, "notice", None) or NOTICE
    return wording.format_map({"service": v.service, "centre": centre, "when": when_text(v)})


def reminder_text(v: Visit, centre: str) -> str:
    return f"Reminder: {v.service} at {centre}, {when_text(v)}."


def change_text(old: Visit, new: Visit, centre: str) -> str:
    was = f"{old.service} at {centre}, {when_text(old)}"
    return f"Change: {was} is now {new.service}, {when_text(new)}."


def cancel_text(v: Visit, centre: str) -> str:
    return f"Cancelled: {v.service} at {centre}, {when_text(v)} will not take place."


def centre_name(rt, centre_id: int) -> str:
    with rt.sessions() as s:
        name = s.scalar(select(Centre.name).where(Centre.id == centre_id))
    if name is None:
        raise LookupError(f"no centre with id {centre_id}")
    return short_centre_name(name)
