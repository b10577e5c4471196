"""The approvals inbox (every role) and its block on the home page.

``/staff/approvals`` lists what waits for the person looking — for an approver or admin, what
they may decide (their centres, not their own items); for everyone, their own items waiting
for someone else — each linked to its own page, where it is approved or rejected bound to what
the approver saw. Nothing is decided here. The home page's block counts both and lists what
was decided on the person's items since they last opened the home page
(:mod:`gateway.staff.approvals`), then records that they looked.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, url_for
from sqlalchemy import select

from gateway.staff import approvals
from gateway.staff.accounts import APPROVER, CLERK, Member
from gateway.store.models import Centre
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, current_member
from gateway.web.staff.broadcast_text import asked_text, describe_target


def link(kind: str, item_id: int, target: str, member: Member) -> str:
    """The page an item is decided (or followed) on."""
    if kind == approvals.BROADCAST:
        return url_for("staff.broadcast_page", broadcast_id=item_id)
    if kind in (approvals.VISIT, approvals.VISIT_CANCEL):
        return url_for("staff.visit_page", visit_id=item_id)
    if member.role == CLERK:  # a clerk follows their change on the centre's page
        return url_for("staff.centre_edit", centre_id=int(target.partition(":")[2]))
    return url_for("staff.centre_change_list") + f"#change-{item_id}"


@dataclass(frozen=True)
class Row:
    """One line of the inbox, worded."""

    label: str
    summary: str
    where: str
    author: str
    since: str
    href: str


def _rows(items: list[approvals.Item], member: Member) -> list[Row]:
    with runtime_of().sessions() as s:
        names = dict(s.execute(select(Centre.id, Centre.name)).all()) if items else {}
    return [Row(i.label, i.summary, describe_target(i.target, names), i.author, asked_text(i.since),
                link(i.kind, i.id, i.target, member)) for i in items]


@bp.get("/approvals")
def approvals_inbox():
    member = current_member()
    rt = runtime_of()
    return render_template("staff/approvals.html", member=member,
                           for_me=_rows(approvals.waiting_for(rt, member), member),
                           mine=_rows(approvals.mine_waiting(rt, member), member),
                           decides=member.role in (APPROVER, "admin"))


@dataclass(frozen=True)
class HomeBlock:
    """The home page's approvals block: counts and the decisions since the last look."""

    waiting: int
    mine: int
    decided: list[tuple[approvals.Decision, str, str]]  # (decision, when in words, link)
    first_look: bool


def home_block(member: Member) -> HomeBlock:
    """The block for ``member`` — and, since they are looking now, the look recorded."""
    rt = runtime_of()
    now = rt.clock.now()
    seen = approvals.last_seen(rt, member)
    decided = [(d, asked_text(d.at), link(d.kind, d.id, "centre:0", member) if d.kind != approvals.CENTRE_CHANGE
                else _change_link(rt, d.id, member))
               for d in approvals.decided_since(rt, member, seen)]
    block = HomeBlock(len(approvals.waiting_for(rt, member)), len(approvals.mine_waiting(rt, member)), decided,
                      seen is None)
    approvals.mark_seen(rt, member, now)
    return block


def _change_link(rt, change_id: int, member: Member) -> str:
    centre = approvals.centre_of_change(rt, change_id)
    return url_for("staff.centre_edit", centre_id=centre) if centre is not None else url_for("staff.centre_list")
