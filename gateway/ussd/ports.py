"""The gateway's side of the menu engine's ports: directory reads and the side effects a USSD
journey may cause (SMS me, subscribe, feedback, language), for one caller.

Reads are small indexed queries; writes are single rows or queued SMS. Nothing here makes an
outbound HTTP call, so a hop stays fast.

"SMS me" is capped per number per South African day across sessions (``USSD_SMS_PER_DAY``),
counted in Redis under ``ussd:sms-me:<phone>:<day>`` — a set of session+centre pairs, so AT
retrying a hop counts once — which expires when that day ends.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from datetime import datetime, time, timedelta

from sqlalchemy import bindparam, func, select

from gateway.clock import SAST
from gateway.dialogue import office_news, questions, threads
from gateway.directory.browse import with_visits_at
from gateway.sms import consent, optout
from gateway.sms.outbox import queue_sms
from gateway.store.models import Centre, Citizen, Feedback, Service, Subscription
from menus.engine import centre_sms_text, subscription_sms_text
from menus.keywords import welcome_back
from menus.ports import Asked, CentreDetails, CentreSummary, Named, OfficeNews
from menus.segments import is_gsm7

log = logging.getLogger(__name__)
SMS_ME_KEY = "ussd:sms-me:"  # + E.164 number + ":" + the South African day
_LANGUAGE_OF = select(Citizen.__table__.c.language).where(Citizen.__table__.c.phone == bindparam("phone"))


def screen_place_name(name: str) -> str:
    """A place name as a USSD screen shows it, kept in GSM-7 on purpose.

    One letter outside GSM-7 (GeoNames' "Port Saint John’s", "Daniëlskuil") turns the whole
    screen into UCS-2 and halves it: the list then holds one centre a page and cuts its name
    and distance. Place names are commonly written without the mark ("Danielskuil"), so the
    screen drops it; SMS replies keep the name as GeoNames spells it.
    """
    name = name.replace("\u2019", "'")
    if is_gsm7(name):
        return name
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    return bare if is_gsm7(bare) else name


class UssdPorts:
    """Implements ``menus.ports.DirectoryPorts`` for one caller (``phone``) in one session."""

    def __init__(self, rt, phone: str, session_id: str, language: str = "en"):
        self.rt, self.phone, self.session_id, self.language = rt, phone, session_id, language
        # The searches of this hop, for its usage entry: kind, typed term, found, first centre.
        self.searches: list[dict] = []
        self._news: dict[int, tuple[OfficeNews, ...]] = {}  # office_news of this hop

    # --- reads -------------------------------------------------------------------------

    @staticmethod
    def stored_language(rt, phone: str) -> str:
        """The language kept on the citizen's row (first dial, or the Redis profile expired)."""
        with rt.engine.connect() as conn:  # Core, statement built once: this is on a hop
            lang = conn.execute(_LANGUAGE_OF, {"phone": phone}).scalar()
        return lang or "en"

    # Reference data comes from the runtime's in-memory browse snapshot (no SQL on a hop).
    def provinces(self) -> list[Named]:
        return self.rt.browse.provinces()

    def municipalities(self, province_id: int) -> list[Named]:
        return self.rt.browse.municipalities(province_id)

    def centres_in(self, province_id: int, municipality_id: int | None) -> list[CentreSummary]:
        return self.rt.browse.centres_in(province_id, municipality_id)

    def centre(self, centre_id: int) -> CentreDetails | None:
        return with_visits_at(self.rt.browse.centre(centre_id), self.rt.clock.local())

    def office_news(self, centre_id: int) -> tuple[OfficeNews, ...]:
        """The centre's office statuses today: one query a hop (only the details screen asks;
        the engine may render it twice in a hop, paging on, so the answer is kept for the hop)."""
        if centre_id not in self._news:
            self._news[centre_id] = office_news.news(self.rt, centre_id)
        return self._news[centre_id]

    def nearest(self, place_text: str, limit: int = 3) -> tuple[str | None, list[CentreSummary]]:
        result = self.rt.directory.nearest(place_text, limit)
        self.searches.append({"k": "place", "t": place_text, "f": bool(result.centres),
                              "c": result.centres[0].centre.id if result.centres else None})
        if result.place is None:
            return None, []
        return screen_place_name(result.place.name), [
            CentreSummary(n.centre.id, n.centre.name, n.centre.town, n.distance_km, result.place.name)
            for n in result.centres
        ]

    def services(self) -> list[Named]:
        return self.rt.browse.services()

    def centres_offering(self, service_code: str, place_text: str | None = None,
                         province_id: int | None = None, limit: int = 3) -> list[CentreSummary]:
        """Active centres recorded as offering the service, nearest to a place or in a province."""
        found = self._centres_offering(service_code, place_text, province_id, limit)
        self.searches.append({"k": "service", "t": service_code, "f": bool(found),
                              "c": found[0].id if found else None})
        return found

    def _centres_offering(self, service_code: str, place_text: str | None, province_id: int | None,
                          limit: int) -> list[CentreSummary]:
        with self.rt.sessions() as s:
            q = (select(Centre.id, Centre.province_id).join(Centre.services)
                 .where(Service.code == service_code, Centre.active.is_(True)))
            rows = s.execute(q).all()
        offering = {r.id for r in rows if province_id is None or r.province_id == province_id}
        if place_text:
            place = self.rt.gazetteer.resolve(place_text)
            if place is None:
                return []
            near = self.rt.directory.nearest_to(place, limit=len(self.rt.directory.entries()))
            return [CentreSummary(n.centre.id, n.centre.name, n.centre.town, n.distance_km, place.name)
                    for n in near if n.centre.id in offering][:limit]
        entries = [e for e in self.rt.directory.entries() if e.id in offering]
        return [CentreSummary(e.id, e.name, e.town, None, None) for e in sorted(entries, key=lambda e: e.name)][:limit]

    # --- side effects ------------------------------------------------------------------

    def sms_me(self, centre_id: int) -> bool:
        """Queue an SMS with the centre's full details to the caller (once per session+centre);
        False, and nothing queued, once the number has had ``USSD_SMS_PER_DAY`` today."""
        details = self.centre(centre_id)
        if details is None:
            return True  # gone since the menu showed it: nothing to send, nothing to count
        if not self._count_sms_me(centre_id):
            return False
        queue_sms(self.rt, self.phone, centre_sms_text(details, self.language),
                  key=f"ussd-sms:{self.session_id}:{centre_id}")
        return True

    def _count_sms_me(self, centre_id: int) -> bool:
        """Count this session+centre against the number's SMS-me today; False past the cap (and
        then not counted). The key lives until the South African day ends, on the runtime's clock."""
        local = self.rt.clock.local()
        key, member = f"{SMS_ME_KEY}{self.phone}:{local:%Y-%m-%d}", f"{self.session_id}:{centre_id}"
        day_ends = datetime.combine(local.date() + timedelta(days=1), time(0), SAST)
        with self.rt.redis.pipeline() as pipe:
            pipe.sadd(key, member)
            pipe.scard(key)
            pipe.expire(key, max(1, math.ceil((day_ends - local).total_seconds())))
            _added, count, _ = pipe.execute()
        if count > self.rt.settings.USSD_SMS_PER_DAY:  # a pair already counted never passes it
            self.rt.redis.srem(key, member)
            log.info("SMS me refused: the number's %s for today are used", self.rt.settings.USSD_SMS_PER_DAY)
            return False
        return True

    def subscribe(self, centre_id: int) -> None:
        """Record consent to a centre's notices (timestamped) and confirm by SMS. As JOIN by
        SMS, it lifts a global STOP, and then the SMS says so."""
        name, lifted = consent.subscribe(self.rt, self.phone, centre_id, self.language)
        text = subscription_sms_text(name, True, self.language)
        queue_sms(self.rt, self.phone, welcome_back(self.language, text) if lifted else text,
                  key=f"ussd-sub:{self.session_id}:{centre_id}:on")

    def unsubscribe(self, centre_id: int) -> None:
        name = consent.unsubscribe(self.rt, self.phone, centre_id)
        if name is None:
            return
        queue_sms(self.rt, self.phone, subscription_sms_text(name, False, self.language),
                  key=f"ussd-sub:{self.session_id}:{centre_id}:off")

    def stop_all(self) -> None:
        """Opt the caller out of all bulk messages at once, confirmed by SMS (as STOP is)."""
        optout.opt_out(self.rt, self.phone, source="ussd", confirm=True, lang=self.language)

    def subscriptions(self) -> list[Named]:
        """The caller's current subscriptions (centres), alphabetical."""
        with self.rt.sessions() as s:
            rows = s.execute(
                select(Centre.id, Centre.name).join(Subscription, Subscription.centre_id == Centre.id)
                .join(Citizen, Citizen.id == Subscription.citizen_id)
                .where(Citizen.phone == self.phone, Subscription.ended_at.is_(None)).order_by(Centre.name)
            ).all()
        return [Named(r.id, r.name) for r in rows]

    def is_subscribed(self, centre_id: int) -> bool:
        with self.rt.sessions() as s:
            n = s.scalar(select(func.count()).select_from(Subscription).join(Citizen).where(
                Citizen.phone == self.phone, Subscription.centre_id == centre_id,
                Subscription.ended_at.is_(None)))
        return bool(n)

    def feedback(self, centre_id: int, rating: int, reason: str | None) -> None:
        with self.rt.sessions.begin() as s:
            s.add(Feedback(centre_id=centre_id, rating=rating, reason=reason, language=self.language))

    def set_language(self, code: str) -> None:
        """Remember the caller's language for USSD and SMS (citizen row; profile on save)."""
        self.language = code
        consent.set_language(self.rt, self.phone, code)

    def questions_waiting(self) -> tuple[str, ...]:
        """The caller's open questions when they are at ``QUESTIONS_OPEN_PER_NUMBER`` (no new
        one is taken), else ()."""
        refs = questions.open_refs(self.rt, self.phone)
        return refs if len(refs) >= self.rt.settings.QUESTIONS_OPEN_PER_NUMBER else ()

    def ask(self, text: str) -> Asked | None:
        """Open a question (routed as by SMS) and queue its acknowledgement by SMS."""
        opened = threads.ask_by_ussd(self.rt, self.phone, text, self.language, self.session_id)
        if opened.thread is None:
            return None
        return Asked(opened.thread.ref, opened.thread.centre_name)
