"""What the service answers to a citizen's SMS keyword (``CENTRE Soweto``, ``HELP``,
``STOP``, ``JOIN Kagiso``…), in the citizen's language, within the segment budget.

Contract: :func:`answer` takes a parsed :class:`menus.keywords.Command` and returns the reply
text, or None when no reply is due (STOP/START confirm through :mod:`gateway.sms.optout`;
an unknown keyword gets a short help at most once an hour per number). Consent changes
(STOP, START, JOIN, LANG) are recorded here. Searches (``CENTRE``/``SERVICES`` with a place)
and unrecognised keywords are appended to ``searches`` when given, for analytics.

``STATUS <place>`` answers the nearest centre's offices today, and a ``CENTRE`` reply adds one
line when its first centre has an office not working normally. The statuses are
``gateway.dialogue``'s, a layer above this one: its caller passes their reader as ``news``
(``gateway.dialogue.inbound`` does). Without it ``CENTRE`` adds no line and ``STATUS`` raises
(a stored SMS is retried, never answered "no reports" by mistake).
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.directory.browse import with_visits_at
from gateway.sms import consent, optout
from menus.keywords import (
    language_from_name,
    nearest_reply,
    reply_text,
    services_reply,
    welcome_back,
)
from menus.office_news import centre_status_line, status_reply
from menus.render import short_centre_name

HELP_THROTTLE_KEY = "unknown-help:"  # + E.164 number: one short help an hour
NewsReader = Callable  # (rt, centre_id) -> tuple[menus.ports.OfficeNews, ...], today's


def answer(rt, phone: str, command, lang: str, searches: list[dict] | None = None,
           news: NewsReader | None = None) -> str | None:
    """The reply text for a command, or None when no reply is due (rate-limited help).
    ``news`` reads a centre's office statuses today (``STATUS`` and the ``CENTRE`` line)."""
    searches = [] if searches is None else searches
    code = rt.settings.ussd_service_codes[0]  # the one help texts show
    action, arg = command.action, command.argument
    # STOP and START are confirmed by the reply itself, so it goes back the way the SMS came.
    if action == "stop":
        newly = optout.opt_out(rt, phone, source="sms-stop", confirm=False)
        return reply_text("stop", lang) if newly else None
    if action == "start":
        optout.opt_in(rt, phone, confirm=False)
        return reply_text("start", lang)
    if action == "help":
        return reply_text("help", lang, code=code)
    if action == "lang":
        new = language_from_name(arg)
        if new is None:
            return reply_text("lang_unknown", lang)
        consent.set_language(rt, phone, new)
        return reply_text("lang", new)
    if action in ("nearest", "services", "join", "status"):
        if not arg and action != "join":
            return reply_text("help", lang, code=code)
        result = rt.directory.nearest(arg or "", 3) if arg else None
        if action == "join" and not arg:
            return reply_text("help", lang, code=code)
        if action != "join":
            searches.append({"k": "place", "t": arg, "f": bool(result and result.centres),
                             "c": result.centres[0].centre.id if result and result.centres else None})
        if result is None or not result.centres:
            return reply_text("not_found", lang, place=arg[:40])
        if action == "nearest":
            now = rt.clock.local()
            centres = [{"name": n.centre.name, "town": n.centre.town, "phone": n.centre.phone,
                        "distance_km": n.distance_km, "coming_up": _coming_up(rt, n.centre.id, now)}
                       for n in result.centres]
            today = news(rt, result.centres[0].centre.id) if news else ()
            return nearest_reply(lang, result.place.name, centres, centre_status_line(lang, list(today)))
        first = result.centres[0].centre
        if action == "status":
            if news is None:
                raise RuntimeError("no office status reader given (gateway.dialogue.inbound answers STATUS)")
            return status_reply(lang, first.name, list(news(rt, first.id)))
        if action == "services":
            details = rt.browse.centre(first.id)
            names = [n for _b, items in (details.services_by_block if details else []) for n in items]
            return services_reply(lang, first.name, names)
        return _join(rt, phone, first.id, first.name, lang)
    # unknown: a short help, at most once per number per hour (never a reply storm)
    if arg:
        searches.append({"k": "keyword", "t": arg.split()[0], "f": False, "c": None})
    if rt.redis.set(HELP_THROTTLE_KEY + phone, "1", nx=True, ex=3600):
        return reply_text("unknown", lang, code=code)
    return None


def _coming_up(rt, centre_id: int, now) -> tuple:
    """The centre's service visits still to come (from the browse snapshot: no SQL)."""
    details = with_visits_at(rt.browse.centre(centre_id), now)
    return details.coming_up if details else ()


def _join(rt, phone: str, centre_id: int, centre_name: str, lang: str) -> str:
    # Texting JOIN is explicit consent: it also lifts an earlier STOP, and the reply says so.
    _name, lifted = consent.subscribe(rt, phone, centre_id, lang)
    reply = reply_text("joined", lang, centre=short_centre_name(centre_name))
    return welcome_back(lang, reply) if lifted else reply
