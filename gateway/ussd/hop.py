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
from gateway.ussd.sessions import RESUME_WINDOW, SESSION_TTL, SessionStore, StoredHop
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
    now = time.time()
    if stored is None:
        state = _fresh_state(rt, store, hop, profile, now)
        user_input = None  # a new (or expired) session starts at the first screen
    else:
        state = stored.state
        user_input = hop.last_input
    ports = UssdPorts(rt, hop.phone, hop.session_id, state.get("lang", "en"))
    reply, state = step(journey, state, user_input, ports)
    kept = _profile_after(profile, hop.session_id, state, reply.end, ports.language, now)
    usage = hop_event(rt.settings.analytics_key, hop.phone, hop.session_id, str(state.get("screen", "")),
                      reply.end, ports.searches, now)
    store.save(hop.session_id, StoredHop(state, hop.text, reply.text, reply.end, now), hop.phone,
               kept if kept != profile else None, usage)
    return reply.text, reply.end


def _not_served(rt, hop: UssdHop) -> str:
    # A misrouted code, or someone probing: no session, no side effect, one line in the log.
    log.warning("ussd hop for service code %r not served (caller %s, session %s)",
                hop.service_code, mask_phone(hop.phone), hop.session_id, extra=_OTHER_CODES)
    return other_code_text(_caller_language(rt, hop.phone), rt.settings.ussd_service_codes[0])


def _fresh_state(rt, store: SessionStore, hop: UssdHop, profile: dict, now: float) -> dict:
    lang = profile.get("lang") or UssdPorts.stored_language(rt, hop.phone)
    state: dict = {"lang": lang}
    point = _resume_point(store, profile.get("open"), hop.session_id, now)
    if point is not None:
        state["resume_candidate"] = point
    return state


def _resume_point(store: SessionStore, unfinished: dict | None, session_id: str, now: float) -> dict | None:
    """The state the caller's last unfinished session was left in, if it dropped less than
    ``RESUME_WINDOW`` ago. One more read, only on the first hop after a dropped session."""
    if not unfinished or unfinished.get("sid") == session_id:
        return None
    if now - unfinished.get("at", 0) >= RESUME_WINDOW + SESSION_TTL:
        return None  # started long ago: its state has expired, no need to look
    dropped = store.load(unfinished["sid"])
    if dropped is None or now - dropped.at >= RESUME_WINDOW:  # an END clears the pointer: not ended
        return None
    state = {k: v for k, v in dropped.state.items() if k != "resume_candidate"}
    # Never nest an older resume point inside the new one: it would grow with every drop.
    state["v"] = {k: v for k, v in (state.get("v") or {}).items() if k != "resume"}
    return state


def _profile_after(profile: dict, session_id: str, state: dict, end: bool, lang: str, now: float) -> dict:
    """The caller's profile after this hop: the language, and which session is the one to offer
    to continue — this one until it ends; an older one while this one shows the offer (dropping
    on the offer itself keeps the old point). Equal to ``profile`` on most hops: not written."""
    kept: dict = {"lang": lang}
    unfinished = profile.get("open")
    if end:
        return kept
    if state.get("screen") == "resume" or (unfinished and unfinished.get("sid") == session_id):
        if unfinished:
            kept["open"] = unfinished
        return kept
    kept["open"] = {"sid": session_id, "at": now}
    return kept


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
    """AT's end-of-session notification: keep the outcome for analytics, forget the session —
    unless it dropped mid-journey: its state is where the caller's next session may continue
    (it expires ``RESUME_WINDOW`` after its last hop)."""
    store = SessionStore(rt.redis)
    stored = None
    try:
        stored = store.load(event.session_id)
        if stored is None or stored.end or stored.state.get("screen") in (rt.journey.start, "resume"):
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
