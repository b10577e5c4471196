"""Starting the compose page from something kept: a template (``?template=ID``), an earlier
broadcast (``?copy=ID``: its audience, language and text, not its schedule) or a rejected one
to edit and resubmit (``?resubmit=ID``: the same, with the rejection reason beside the form).

Each only fills the form: what is sent still goes through the check, then send page
(:mod:`gateway.staff.send_check`) and, for a clerk under the two-person rule, approval.
What the member may not see fills nothing (a template or broadcast outside their centres is
as if it did not exist), and a resubmission names its original only while that is a rejected
broadcast the member wrote (:func:`rejected_original`); anyone else's is a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.staff import broadcasts as bc
from gateway.staff import templates
from gateway.staff.targets import TargetError, parse
from gateway.store.models import Broadcast
from gateway.web.staff.forms import BroadcastForm

COMPOSE_KINDS = ("centre", "all", "province", "municipality", "service")  # what the form can say


@dataclass(frozen=True)
class Started:
    """What the compose page says it was started from (``None``: a blank form)."""

    what: str  # "template" | "copy" | "resubmit"
    name: str  # the template's name, or "broadcast 12"
    reason: str | None = None  # a resubmission's rejection reason


def from_template(rt, actor: bc.Actor, form: BroadcastForm, template_id: int) -> Started | None:
    """Fill the message (and language, and the template's centre if offered) from a broadcast's
    template (None: none the actor may use, or a visit notice's wording, which only a visit fills in)."""
    try:
        row = templates.get_for(rt, actor, template_id)
    except templates.NotFound:
        return None
    if templates.is_notice(row):
        return None
    form.message.data, form.language.data = row.text, row.language or ""
    if row.centre_id is not None and row.centre_id in {c.value for c in form.centres.choices}:
        form.kind.data, form.centres.data = "centre", [row.centre_id]
    return Started("template", row.name)


def from_broadcast(rt, actor: bc.Actor, form: BroadcastForm, broadcast_id: int, resubmit: bool) -> Started | None:
    """Fill audience, language and text from a broadcast ``actor`` may see (its schedule stays
    "now": a copy is a new send). ``resubmit`` on a rejected one of the actor's marks the form
    as its resubmission."""
    try:
        row = bc.get_for(rt, actor, broadcast_id)
    except bc.NotFound:
        return None
    _fill_target(form, row.target)
    form.message.data, form.language.data = row.text, row.language or ""
    if resubmit and _resubmittable(actor, row):
        form.resubmits.data = str(row.id)
        return Started("resubmit", f"broadcast {row.id}", row.rejected_reason)
    return Started("copy", f"broadcast {row.id}")


def _fill_target(form: BroadcastForm, spec: str) -> None:
    try:
        target = parse(spec)
    except TargetError:
        return
    if target.kind not in COMPOSE_KINDS:
        return  # a visit's notice or correction: its audience is the visit's, not the form's
    if form.kind.type != "HiddenField":  # a clerk's form sends to their centres only (fixed, hidden)
        form.kind.data = target.kind
    if target.kind == "centre":
        form.centres.data = [int(x) for x in target.value.split(",")]
    elif target.kind == "province":
        form.province.data = target.value
    elif target.kind == "municipality":
        form.municipality.data = target.value
    elif target.kind == "service":
        form.service.data = target.value


def rejected_original(rt, actor: bc.Actor, form: BroadcastForm) -> Broadcast | None:
    """The rejected broadcast the form resubmits, if it names one ``actor`` may see (else None)."""
    raw = (form.resubmits.data or "").strip()
    if not raw.isdecimal() or len(raw) > 9:
        return None
    try:
        row = bc.get_for(rt, actor, int(raw))
    except bc.NotFound:
        return None
    return row if _resubmittable(actor, row) else None


def _resubmittable(actor: bc.Actor, row: Broadcast) -> bool:
    """A rejected broadcast is resubmitted by its author; anyone else copies it."""
    return row.status == "rejected" and row.author_id is not None and row.author_id == actor.staff_id
