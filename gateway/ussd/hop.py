"""The USSD hop: AT's form in, ``(text, end)`` out, within the ~10 s AT waits (target < 50 ms).

Contract: :func:`answer` never raises. It loads the session from Redis, detects AT's retried
hop (same session, same ``text``: the stored screen is returned and the input is not applied
again), runs the pure menu engine, and saves the state. A new session from a number whose
last session dropped mid-journey less than 10 minutes ago is offered "continue where you left
off". Any failure (Redis down, a bug) ends the session with an apology in the caller's
language. A hop for a ``serviceCode`` not in ``USSD_SERVICE_CODE`` is never served: it ends
with the code to dial (in the caller's language) and is logged. No outbound HTTP here: side
effects are rows and queued jobs.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.exc import DBAPIError, IntegrityError

from config.logging import mask_phone
from gateway.channels.africastalking import UssdEnd, UssdHop
from gateway.metrics import USSD_APOLOGIES
from gateway.store.models import UssdSessionLog
from gateway.usage.events import hop_event
from gateway.ussd.ports import UssdPorts
from gateway.ussd.sessions import RESUME_WINDOW, SessionStore, StoredHop
from menus.engine import apology_text, other_code_text, step

log = logging.getLogger(__name__)
_REPEATS = {"repeat_summary": "ussd hop failed: {n} more in the last {seconds} s (answered with an apology)"}
_OTHER_CODES = {"repeat_summary": "ussd hops for service codes not served: {n} more in the last {seconds} s"}


def answer(rt, hop: UssdHop) -> tuple[str, bool]:
    """The screen for this hop and whether it ends the session. Never raises."""
    try:
        if hop.service_code not in rt.settings.ussd_service_codes:
            return _not_served(rt, hop), True
        return _answer(rt, hop)
    except Exception as exc:
        # One template for every hop, so an outage is one traceback and then a count.
        log.exception("ussd hop failed (session %s)", hop.session_id, extra=_REPEATS)
        USSD_APOLOGIES.inc()
        # After a database error the language comes from Redis only: asking the database again
        # would wait out the same lock or statement timeout twice, past AT's ~10 s.
        return apology(rt, hop.phone, ask_database=not isinstance(exc, DBAPIError)), True


def _answer(rt, hop: UssdHop) -> tuple[str, bool]:
    store = SessionStore(rt.redis)
    journey = rt.journey
    stored, profile = store.load_with_profile(hop.session_id, hop.phone)
    if stored is not None and stored.text == hop.text:
        return stored.reply, stored.end  # AT retried the hop: same screen, input not re-applied
    if stored is None:
        state = _fresh_state(rt, hop.phone, profile)
        user_input = None  # a new (or expired) session starts at the first screen
    else:
        state = stored.state
        user_input = hop.last_input
    ports = UssdPorts(rt, hop.phone, hop.session_id, state.get("lang", "en"))
    reply, state = step(journey, state, user_input, ports)
    _remember(profile, state, reply.end, ports.language)
    usage = hop_event(rt.settings.analytics_key, hop.phone, hop.session_id, str(state.get("screen", "")),
                      reply.end, ports.searches, time.time())
    store.save_with_profile(hop.session_id, StoredHop(state, hop.text, reply.text, reply.end),
                            hop.phone, profile, usage)
    return reply.text, reply.end


def _not_served(rt, hop: UssdHop) -> str:
    # A misrouted code, or someone probing: no session, no side effect, one line in the log.
    log.warning("ussd hop for service code %r not served (caller %s, session %s)",
                hop.service_code, mask_phone(hop.phone), hop.session_id, extra=_OTHER_CODES)
    return other_code_text(_caller_language(rt, hop.phone), rt.settings.ussd_service_codes[0])


def _fresh_state(rt, phone: str, profile: dict) -> dict:
    lang = profile.get("lang") or UssdPorts.stored_language(rt, phone)
    state: dict = {"lang": lang}
    resume = profile.get("resume")
    if resume and time.time() - resume.get("at", 0) < RESUME_WINDOW and resume.get("state"):
        state["resume_candidate"] = resume["state"]
    return state


def _remember(profile: dict, state: dict, end: bool, lang: str) -> None:
    """Keep the language and, while a journey is unfinished, where it stands (for resume)."""
    profile["lang"] = lang
    if end:
        profile.pop("resume", None)
    elif state.get("screen") != "resume":  # dropping on the offer itself keeps the old point
        clean = {k: v for k, v in state.items() if k != "resume_candidate"}
        # Never nest an older resume point inside the new one: it would grow with every drop.
        clean["v"] = {k: v for k, v in (clean.get("v") or {}).items() if k != "resume"}
        profile["resume"] = {"state": clean, "at": time.time()}


def apology(rt, phone: str | None, *, ask_database: bool = True) -> str:
    """"Sorry, something went wrong" in the caller's language (English if unknown)."""
    return apology_text(_caller_language(rt, phone, ask_database))


def _caller_language(rt, phone: str | None, ask_database: bool = True) -> str:
    """The caller's language from the Redis profile, else the citizen row (if ``ask_database``),
    else English; never raises (it words apologies)."""
    if not phone:
        return "en"
    try:
        profile = SessionStore(rt.redis).profile(phone)
    except Exception:
        profile = {}
    if profile.get("lang") or not ask_database:
        return profile.get("lang") or "en"
    try:
        return UssdPorts.stored_language(rt, phone)
    except Exception:
        return "en"


def record_end(rt, event: UssdEnd) -> None:
    """AT's end-of-session notification: keep the outcome for analytics, forget the session."""
    store = SessionStore(rt.redis)
    stored = None
    try:
        stored = store.load(event.session_id)
        store.drop(event.session_id)
    except Exception:
        log.warning("redis unavailable while ending session %s", event.session_id)
    try:
        with rt.sessions.begin() as session:
            session.add(UssdSessionLog(
                session_id=event.session_id, status=event.status, hops=event.hops,
                duration_ms=event.duration_ms, error=event.error, network_code=event.network_code,
                cost=event.cost, input=event.input, last_app_response=event.last_app_response,
                last_screen=(stored.state.get("screen") if stored else None),
            ))
    except IntegrityError:
        pass  # AT repeated the notification
