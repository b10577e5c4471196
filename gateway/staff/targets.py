"""Who a broadcast goes to: ``all``, ``province:NAME``, ``municipality:NAME``,
``centre:ID[,ID…]`` or ``service:CODE`` (subscribers of centres offering that Six-Block
service), optionally narrowed to one language. A service visit's messages have two more:
``visit:ID`` (the visit centre's subscribers not yet told of an earlier version of it: its
notice) and ``told:ID`` (everyone its messages, or those of the versions it replaced, may
have reached — sent, delivered or in flight: its correction).

Contract: :func:`parse` checks the syntax only; :func:`named_centres` gives the ids a
``centre:`` target names (what a clerk's scope is checked against); :func:`centre_ids` looks
the names up and raises :class:`TargetError` naming what exists when one does not;
:func:`recipients` and
:func:`count_recipients` give the numbers with an active subscription (``ended_at`` unset) to
a matching centre that have not opted out — each number once, however many centres match.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.directory.catalogue import PROVINCES
from gateway.store.models import (
    Broadcast,
    Centre,
    Citizen,
    Message,
    Municipality,
    Province,
    Service,
    Subscription,
    Visit,
    centre_services,
)
from menus.catalogue import LANGUAGES

KINDS = ("all", "province", "municipality", "centre", "service", "visit", "told")
VISIT_KINDS = ("visit", "told")
# An outbox row in one of these may have reached the phone: its owner counts as told.
TOLD = ("sending", "sent", "delivered", "simulated", "unknown")


# The command that shows centre ids; refusals name it (the CSV export has no ids: rows match by name).
LIST_CENTRES = "thusong centres list"


class TargetError(ValueError):
    """A target spec is malformed or names nothing that exists; the message says what does."""


@dataclass(frozen=True)
class Target:
    kind: str  # one of KINDS
    value: str = ""  # the name, code or comma-separated ids as typed

    def __str__(self) -> str:
        return self.kind if self.kind == "all" else f"{self.kind}:{self.value}"


def parse(spec: str) -> Target:
    """``province:Gauteng`` → ``Target("province", "Gauteng")``; syntax only."""
    kind, _, value = spec.strip().partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if kind not in KINDS:
        raise TargetError(f"unknown target {spec!r}: use all, province:NAME, municipality:NAME, "
                          "centre:ID[,ID], service:CODE, visit:ID or told:ID")
    if kind == "all":
        if value:
            raise TargetError(f"'all' takes no value, got {spec!r}")
        return Target("all")
    if not value:
        raise TargetError(f"{kind}: needs a value, e.g. {kind}:{_EXAMPLE[kind]}")
    if kind == "centre":
        ids = [x.strip() for x in value.split(",")]
        if not all(x.isdigit() for x in ids):
            raise TargetError(f"centre: expected numeric ids separated by commas, got {value!r} "
                              f"(`{LIST_CENTRES}` gives each centre's id)")
        value = ",".join(str(int(x)) for x in dict.fromkeys(ids))
    if kind in VISIT_KINDS:
        if not value.isdigit():
            raise TargetError(f"{kind}: expects a visit id, got {value!r}")
        value = str(int(value))
    return Target(kind, value)


def named_centres(target: Target) -> frozenset[int] | None:
    """The centre ids a ``centre:`` target names; ``None`` for every other kind (which may
    reach any centre): what scoping a clerk to their centres checks."""
    if target.kind != "centre":
        return None
    return frozenset(int(x) for x in target.value.split(","))


_EXAMPLE = {"province": "Gauteng", "municipality": "City of Johannesburg", "centre": "12", "service": "grants",
            "visit": "3", "told": "3"}


def check_language(code: str | None) -> str | None:
    if code is not None and code not in LANGUAGES:
        raise TargetError(f"unknown language {code!r}; languages: {', '.join(LANGUAGES)}")
    return code


def centre_ids(session: Session, target: Target) -> list[int] | None:
    """The matching centres' ids (None: every centre). Raises :class:`TargetError`."""
    if target.kind == "all":
        return None
    if target.kind in VISIT_KINDS:
        return [_visit(session, target).centre_id]
    if target.kind == "province":
        wanted = _province_name(target.value)
        names = list(session.scalars(select(Province.name).order_by(Province.name)))
        if wanted is None or wanted not in names:
            raise TargetError(f"no province {target.value!r}; provinces: {', '.join(names)}")
        return list(session.scalars(select(Centre.id).join(Province, Centre.province_id == Province.id)
                                    .where(Province.name == wanted)))
    if target.kind == "municipality":
        ids = list(session.scalars(select(Centre.id).join(Municipality, Centre.municipality_id == Municipality.id)
                                   .where(func.lower(Municipality.name) == target.value.lower())))
        if not ids:
            names = list(session.scalars(select(Municipality.name).distinct().order_by(Municipality.name)))
            raise TargetError(f"no centre in a municipality named {target.value!r}; {_suggest(target.value, names)}")
        return ids
    if target.kind == "centre":
        wanted = [int(x) for x in target.value.split(",")]
        found = set(session.scalars(select(Centre.id).where(Centre.id.in_(wanted))))
        missing = [i for i in wanted if i not in found]
        if missing:
            lo, hi, n = session.execute(select(func.min(Centre.id), func.max(Centre.id), func.count())).one()
            exists = f"{n} centres exist, ids {lo}–{hi}" if n else "no centres exist yet"
            raise TargetError(f"no centre with id {', '.join(map(str, missing))}; {exists} "
                              f"(`{LIST_CENTRES}` gives each centre's id)")
        return wanted
    codes = list(session.scalars(select(Service.code).order_by(Service.code)))
    if target.value.lower() not in codes:
        raise TargetError(f"no service {target.value!r}; services: {', '.join(codes)}")
    return list(session.scalars(select(centre_services.c.centre_id).join(Service, Service.id == centre_services.c.service_id)
                                .where(Service.code == target.value.lower())))


def _province_name(value: str) -> str | None:
    low = value.strip().lower()
    for code, name, aliases in PROVINCES:
        if low in {code.lower(), name.lower(), *(a.lower() for a in aliases)}:
            return name
    return None


def _suggest(value: str, names: list[str]) -> str:
    if not names:
        return "no municipalities are recorded yet"
    if len(names) <= 12:
        return f"municipalities: {', '.join(names)}"
    close = difflib.get_close_matches(value, names, n=5, cutoff=0.4)
    return (f"did you mean {', '.join(close)}? " if close else "") + f"({len(names)} municipalities exist)"


def _recipients_query(ids: list[int] | None, language: str | None):
    q = (select(Citizen.phone).join(Subscription, Subscription.citizen_id == Citizen.id)
         .where(Subscription.ended_at.is_(None), Citizen.opted_out.is_(False)))
    if ids is not None:
        q = q.where(Subscription.centre_id.in_(ids))
    if language:
        q = q.where(Citizen.language == language)
    return q.distinct()


def versions(session: Session, visit_id: int) -> list[int]:
    """``visit_id`` and the ids of the versions it replaced, newest first."""
    chain: list[int] = []
    current: int | None = visit_id
    while current is not None and current not in chain:
        chain.append(current)
        current = session.scalar(select(Visit.replaces_id).where(Visit.id == current))
    return chain


def _visit(session: Session, target: Target) -> Visit:
    row = session.get(Visit, int(target.value))
    if row is None:
        raise TargetError(f"no visit with id {target.value}")
    return row


def told_query(visit_ids: list[int], language: str | None = None):
    """The numbers a message of these visits may have reached, still opted in."""
    sent = (select(Message.phone).join(Broadcast, Broadcast.id == Message.broadcast_id)
            .where(Broadcast.visit_id.in_(visit_ids), Message.status.in_(TOLD)))
    q = select(Citizen.phone).where(Citizen.phone.in_(sent), Citizen.opted_out.is_(False))
    if language:
        q = q.where(Citizen.language == language)
    return q.distinct()


def _query(session: Session, target: Target, language: str | None):
    if target.kind == "told":
        _visit(session, target)
        return told_query(versions(session, int(target.value)), language)
    if target.kind == "visit":
        row = _visit(session, target)
        q = _recipients_query([row.centre_id], language)
        earlier = versions(session, row.id)[1:]
        return q.where(Citizen.phone.not_in(told_query(earlier))) if earlier else q
    return _recipients_query(centre_ids(session, target), language)


def recipients(session: Session, target: Target, language: str | None = None) -> list[str]:
    """Numbers the broadcast goes to, in a stable order (fan-out writes them in chunks)."""
    q = _query(session, target, language)
    return list(session.scalars(q.order_by(Citizen.phone)))


def count_recipients(session: Session, target: Target, language: str | None = None) -> int:
    q = _query(session, target, language)
    return session.scalar(select(func.count()).select_from(q.subquery())) or 0
