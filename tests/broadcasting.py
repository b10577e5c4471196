"""Subscribers in bulk for broadcast tests: Core inserts, thousands per second."""

from __future__ import annotations

from sqlalchemy import insert, select

from gateway.store.models import Centre, Citizen, Subscription, utcnow


def add_subscribers(rt, phones: list[str], centre_id: int, language: str = "en",
                    opted_out: bool = False, ended: bool = False) -> None:
    """Citizens for ``phones`` (created if new) each subscribed to ``centre_id``."""
    now = utcnow()
    with rt.sessions.begin() as s:
        have = set(s.scalars(select(Citizen.phone).where(Citizen.phone.in_(phones)))) if len(phones) < 30000 else set()
        new = [{"phone": p, "language": language, "opted_out": opted_out, "created_at": now}
               for p in phones if p not in have]
        for start in range(0, len(new), 5000):
            s.execute(insert(Citizen), new[start:start + 5000])
        ids = dict(s.execute(select(Citizen.phone, Citizen.id).where(Citizen.phone.in_(phones))).all()) \
            if len(phones) < 30000 else dict(s.execute(select(Citizen.phone, Citizen.id)).all())
        subs = [{"citizen_id": ids[p], "centre_id": centre_id, "consented_at": now,
                 "ended_at": now if ended else None} for p in phones]
        for start in range(0, len(subs), 5000):
            s.execute(insert(Subscription), subs[start:start + 5000])


def centre_id(rt, town: str) -> int:
    with rt.sessions() as s:
        return s.scalar(select(Centre.id).where(Centre.town == town).order_by(Centre.id))
