"""Named behaviour the journey YAML refers to: actions (run on a choice or typed text; return
True to go on, False to re-ask), item providers (lists) and renderers (long texts).

Each takes a :class:`menus.engine.Context` (ports, caller's language, the session's values)
and is registered by name; the loader refuses a journey naming anything not registered here.
"""

from __future__ import annotations

from collections.abc import Callable

from menus.office_news import news_line, not_up_first
from menus.render import short_centre_name
from menus.visits import coming_up_line

ACTIONS: dict[str, Callable] = {}
PROVIDERS: dict[str, Callable] = {}
RENDERERS: dict[str, Callable] = {}

REASONS = ("queue", "staff", "unavailable", "closed", "good", None)


def action(fn):
    ACTIONS[fn.__name__] = fn
    return fn


def provider(fn):
    PROVIDERS[fn.__name__] = fn
    return fn


def renderer(fn):
    RENDERERS[fn.__name__] = fn
    return fn


def _distance(ctx, km: float | None) -> str:
    if km is None:
        return ""
    return f" {km:.0f}km" if km >= 1 else " <1km"


def _summaries(ctx, rows) -> list[list]:
    return [[c.id, f"{short_centre_name(c.name)}{_distance(ctx, c.distance_km)}", c.name] for c in rows]


# --- actions -------------------------------------------------------------------------------

@action
def find_nearest(ctx, text: str) -> bool:
    place, rows = ctx.ports.nearest(text[:80], 3)
    if not rows:
        return False
    ctx.values["place"] = place
    ctx.values["near"] = _summaries(ctx, rows)
    return True


@action
def pick_centre(ctx, centre_id) -> bool:
    details = ctx.ports.centre(int(centre_id))
    if details is None:
        return False
    ctx.values["centre_id"] = details.id
    ctx.values["centre"] = short_centre_name(details.name)
    return True


@action
def pick_province(ctx, province_id) -> bool:
    ctx.values["province_id"] = int(province_id)
    ctx.values["province"] = next((p.name for p in ctx.ports.provinces() if p.id == int(province_id)), "")
    return True


@action
def pick_municipality(ctx, municipality_id) -> bool:
    ctx.values["municipality_id"] = None if municipality_id == "all" else int(municipality_id)
    return True


@action
def pick_service(ctx, code) -> bool:
    ctx.values["service_code"] = code
    # The name the list showed, in the caller's language (the directory's name is English).
    ctx.values["service"] = ctx.t(f"service.{code}") or next(
        (s.name for s in ctx.ports.services() if s.code == code), code)
    return True


@action
def find_service_near(ctx, text: str) -> bool:
    place, rows = ctx.ports.nearest(text[:80], 1)
    if place is None:
        return False
    ctx.values["place"] = place
    found = ctx.ports.centres_offering(ctx.values.get("service_code", ""), place_text=text[:80], limit=6)
    ctx.values["svc"] = _summaries(ctx, found)
    return True


@action
def pick_service_province(ctx, province_id) -> bool:
    found = ctx.ports.centres_offering(ctx.values.get("service_code", ""), province_id=int(province_id), limit=20)
    ctx.values["svc"] = _summaries(ctx, found)
    return True


@action
def sms_details(ctx, _choice) -> bool:
    """Queue the centre's details by SMS; False when the caller's SMS for today are used up
    (the option's ``otherwise`` screen says so)."""
    return ctx.ports.sms_me(int(ctx.values["centre_id"]))


@action
def subscribe(ctx, _choice) -> bool:
    ctx.ports.subscribe(int(ctx.values["centre_id"]))
    return True


@action
def pick_subscription(ctx, centre_id) -> bool:
    ctx.values["centre_id"] = int(centre_id)
    ctx.values["centre"] = next((short_centre_name(s.name) for s in ctx.ports.subscriptions()
                                 if s.id == int(centre_id)), "")
    return True


@action
def unsubscribe(ctx, _choice) -> bool:
    ctx.ports.unsubscribe(int(ctx.values["centre_id"]))
    return True


@action
def stop_all(ctx, _choice) -> bool:
    """Opt out of every bulk message from the service (confirmed by SMS)."""
    ctx.ports.stop_all()
    return True


@action
def rate_visit(ctx, choice) -> bool:
    ctx.values["rating"] = int(choice)
    return True


@action
def save_feedback(ctx, choice) -> bool:
    reason = REASONS[int(choice) - 1] if 1 <= int(choice) <= len(REASONS) else None
    ctx.ports.feedback(int(ctx.values["centre_id"]), int(ctx.values["rating"]), reason)
    return True


@action
def set_language(ctx, code) -> bool:
    if code not in ctx.journey.languages:
        return False
    ctx.ports.set_language(code)
    ctx.lang = code
    return True


@action
def may_ask(ctx, _choice) -> bool:
    """False (the option's ``otherwise`` screen lists them) when the caller's open questions
    are at the limit."""
    waiting = ctx.ports.questions_waiting()
    ctx.values["refs"] = ", ".join(waiting)
    return not waiting


@action
def ask_question(ctx, text: str) -> bool:
    """Open the question (a few words at least); the end screen shows its reference."""
    if len(text.strip()) < 3:
        return False
    asked = ctx.ports.ask(text.strip())
    if asked is None:
        return False
    ctx.values["ref"] = asked.ref
    ctx.values["asked_to"] = short_centre_name(asked.centre) if asked.centre else ctx.t("sms.question_team")
    return True


@action
def resume_journey(ctx, _choice) -> bool:
    """Go back to where the dropped session stood (the engine swaps the state in)."""
    ctx.resume = True
    return True


# --- item providers --------------------------------------------------------------------------

@provider
def nearest_centres(ctx) -> list[list]:
    return [[i, label] for i, label, _full in ctx.values.get("near", [])]


@provider
def provinces(ctx) -> list[list]:
    return [[p.id, p.name] for p in ctx.ports.provinces()]


@provider
def municipalities(ctx) -> list[list]:
    rows = [[m.id, m.name] for m in ctx.ports.municipalities(int(ctx.values["province_id"]))]
    # Centres with no recorded municipality are still reachable through "all centres".
    return rows + [["all", ctx.t("browse.all")]]


@provider
def centres_in_area(ctx) -> list[list]:
    rows = ctx.ports.centres_in(int(ctx.values["province_id"]), ctx.values.get("municipality_id"))
    return [[c.id, short_centre_name(c.name)] for c in rows]


@provider
def services(ctx) -> list[list]:
    return [[s.code, ctx.t(f"service.{s.code}") or s.name] for s in ctx.ports.services()]


@provider
def service_centres(ctx) -> list[list]:
    return [[i, label] for i, label, _full in ctx.values.get("svc", [])]


@provider
def subscriptions(ctx) -> list[list]:
    return [[s.id, short_centre_name(s.name)] for s in ctx.ports.subscriptions()]


@provider
def languages(ctx) -> list[list]:
    return [[code, ctx.journey.catalogues.by_code[code].name] for code in ctx.journey.languages]


def place_line(d) -> str:
    """Address, then town/municipality/province where the address does not already say them."""
    parts: list[str] = []
    for part in (d.address, d.town, d.municipality, d.province):
        if part and not any(part.lower() in p.lower() for p in parts):
            parts.append(part)
    return ", ".join(parts)


# --- renderers -------------------------------------------------------------------------------

@renderer
def centre_details(ctx) -> str:
    d = ctx.ports.centre(int(ctx.values["centre_id"]))
    if d is None:
        return ctx.t("centre.gone")
    unknown = ctx.t("centre.unknown")
    where = place_line(d) or unknown
    # Offices not working normally today come first: they decide whether the trip is wasted.
    news = [news_line(n, ctx.lang) for n in not_up_first(ctx.ports.office_news(d.id)) if n.state != "up"]
    lines = [
        short_centre_name(d.name),
        *news,
        f"{ctx.t('centre.address')}: {where}",
        f"{ctx.t('centre.hours')}: {d.hours or ctx.t('centre.hours_default')}",
        f"{ctx.t('centre.phone')}: {d.phone or unknown}",
    ]
    coming = coming_up_line(d.coming_up, ctx.lang)  # paginated with the rest: never over a screen
    return "\n".join([*lines, coming] if coming else lines)


@renderer
def centre_services(ctx) -> str:
    d = ctx.ports.centre(int(ctx.values["centre_id"]))
    if d is None or not d.services_by_block:
        return ctx.t("centre.no_services")
    lines = []
    for block, names in d.services_by_block:
        lines.append(f"{block}: {', '.join(names)}")
    return "\n".join(lines)
