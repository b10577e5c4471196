"""What staff call each screen of the citizen journey, and what a session ending on it means:
the analytics funnel names screens by these words, never by their ids.

Contract: :data:`SCREENS` maps every screen id of ``menus/journeys/citizen.yaml``, and the
engine's :data:`~menus.engine.TOO_MANY`, to a :class:`ScreenName`: ``words`` (English, for
staff) and ``ending`` — :data:`ANSWER` where the caller got what they came for (a centre's
details, an SMS, a subscription, a reference), :data:`CLOSED` where the service closed the
session without it (the day's SMS cap, too many wrong entries), :data:`GAVE_UP` everywhere
else (the caller still had something to choose or type). :func:`name_of` answers for an id
no longer in the journey too (old roll-ups keep old ids). ``tests/menus/test_screen_names.py``
fails for a screen without words, and for words of a screen that no longer exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from menus.engine import TOO_MANY

ANSWER = "answer"
CLOSED = "closed by the service"
GAVE_UP = "gave up"


@dataclass(frozen=True)
class ScreenName:
    words: str
    ending: str = GAVE_UP


SCREENS: dict[str, ScreenName] = {
    "main": ScreenName("Main menu"),
    "resume": ScreenName("Continue where you left off?"),
    "find_place": ScreenName("Find a centre: type a place"),
    "nearest": ScreenName("Find a centre: centres near the place"),
    "provinces": ScreenName("Browse: provinces"),
    "municipalities": ScreenName("Browse: municipalities"),
    "centres": ScreenName("Browse: centres in the municipality"),
    "centre": ScreenName("A centre's menu"),
    "centre_details": ScreenName("A centre's hours and address", ANSWER),
    "centre_services": ScreenName("A centre's services", ANSWER),
    "sms_sent": ScreenName("A centre's details sent by SMS", ANSWER),
    "sms_capped": ScreenName("No more SMS today (daily limit)", CLOSED),
    "subscribe_confirm": ScreenName("Subscribe: agree to notices?"),
    "subscribed": ScreenName("Subscribed to a centre's notices", ANSWER),
    "subscribed_alerts": ScreenName("Subscribed to notices and office alerts", ANSWER),
    "services": ScreenName("Services: pick a service"),
    "service_where": ScreenName("Services: near a place or in a province?"),
    "service_place": ScreenName("Services: type a place"),
    "service_provinces": ScreenName("Services: pick a province"),
    "service_centres": ScreenName("Services: centres offering it"),
    "my_notices": ScreenName("My notices"),
    "notice_list": ScreenName("My notices: the centres"),
    "unsubscribe_confirm": ScreenName("Stop one centre's notices?"),
    "unsubscribed": ScreenName("One centre's notices stopped", ANSWER),
    "stop_all_confirm": ScreenName("Stop ALL Thusong SMS?"),
    "all_stopped": ScreenName("All Thusong SMS stopped", ANSWER),
    "rate_place": ScreenName("Rate a visit: type a place"),
    "rate_pick": ScreenName("Rate a visit: pick the centre"),
    "rate": ScreenName("Rate a visit: 1 to 5"),
    "rate_reason": ScreenName("Rate a visit: the reason"),
    "thanks": ScreenName("Rating received", ANSWER),
    "language": ScreenName("Choose a language"),
    "ask": ScreenName("Ask or complain: type it"),
    "asked": ScreenName("Question received, reference given", ANSWER),
    "ask_waiting": ScreenName("Questions already open: their references", CLOSED),
    TOO_MANY: ScreenName("Ended after three wrong entries", CLOSED),
}


def name_of(screen_id: str) -> ScreenName:
    """The screen's words and ending; an id the journey no longer has keeps its id, marked."""
    return SCREENS.get(screen_id) or ScreenName(f"{screen_id or '(none)'} (no longer in the menu)")
