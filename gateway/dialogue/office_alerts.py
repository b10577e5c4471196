"""Office-down alerts: a centre's subscribers who asked for them (ALERTS <place>, or the USSD
subscribe screen) get one SMS when an office there goes ``down``, in their language.

Contract: :func:`queue_down_alerts` writes the alerts of one status just set. Nothing for a
state other than ``down``, nor for a status no longer in force (set back in time). Each alert
is a bulk row keyed per (centre, office, SAST day, number) — :func:`alert_key` — so a second
``down`` the same day (by SMS, dashboard or command line, even two at once) writes nothing new:
at most one alert per office per day; the next day's ``down`` alerts again. Alerts are
service notices (:data:`gateway.sms.bulk.NOTICE_PREFIX`): quiet hours do not hold them (a
notice about a trip today is worthless tomorrow morning), but they are bulk in every other
way: never written to, nor sent to, a number that said STOP.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select

from gateway.clock import SAST
from gateway.dialogue.office_status import Status
from gateway.runtime import Runtime
from gateway.sms.bulk import NOTICE_PREFIX
from gateway.sms.outbox import queue_bulk
from gateway.store.models import Centre, Citizen, Subscription
from menus.office_news import alert_text


def alert_key(centre_id: int, office: str, day: date) -> str:
    """The outbox key prefix of one office's alerts on one SAST day (the number follows)."""
    return f"{NOTICE_PREFIX}office-down:{centre_id}:{office}:{day.isoformat()}"


def queue_down_alerts(rt: Runtime, status: Status) -> int:
    """Queue the alerts ``status`` calls for; how many rows were written (0 when none is due)."""
    if status.state != "down" or status.expires_at <= rt.clock.now():
        return 0
    with rt.sessions() as s:
        centre = s.scalar(select(Centre.name).where(Centre.id == status.centre_id)) or ""
        rows = s.execute(select(Citizen.phone, Citizen.language).join(Subscription, Subscription.citizen_id == Citizen.id)
                         .where(Subscription.centre_id == status.centre_id, Subscription.ended_at.is_(None),
                                Subscription.alerts_at.is_not(None), Citizen.opted_out.is_not(True))
                         .order_by(Citizen.id)).all()
    by_language: dict[str, list[str]] = defaultdict(list)
    for phone, language in rows:
        by_language[language or "en"].append(phone)
    key = alert_key(status.centre_id, status.office, status.set_at.astimezone(SAST).date())
    return sum(queue_bulk(rt, phones, alert_text(lang, centre, status.office, status.reason), key)
               for lang, phones in sorted(by_language.items()))
