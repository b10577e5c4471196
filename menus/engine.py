"""The USSD engine: ``step(journey, state, input, ports) -> (reply, state)``. Pure: all I/O
goes through ``ports``.

State (small, JSON-safe): ``lang``, ``screen``, ``stack`` (for 0 Back), ``page``, ``bad``
(invalid inputs in a row), ``v`` (values the journey collected: place, centre id, …).
``resume_candidate`` in a fresh state makes the first screen "continue where you left off".

Navigation: ``0`` back (or previous page), ``00`` main menu, ``98`` next page. Invalid input
re-shows the screen with a short hint; the third in a row ends the session politely.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import orjson

from menus import actions
from menus.catalogue import Catalogues
from menus.journey import Journey, Screen
from menus.loader import load_journey
from menus.render import (
    paginate_items,
    paginate_text,
    render_page,
    short_centre_name,
)
from menus.screens import nav_lines
from menus.visits import coming_up_line

MAX_BAD = 3
MAX_STACK = 12
TOO_MANY = "__ended__"  # the screen a session is left on after MAX_BAD invalid inputs in a row (then END)

__all__ = ["Reply", "step", "load_journey", "apology_text", "centre_sms_text", "subscription_sms_text"]


@dataclass(frozen=True)
class Reply:
    text: str
    end: bool


class Context:
    """What actions, providers and renderers see: ports, language, collected values."""

    def __init__(self, journey: Journey, state: dict, ports):
        self.journey, self.ports, self.state = journey, ports, state
        self.values: dict = state.setdefault("v", {})
        self.lang: str = state.get("lang") or "en"
        self.resume = False

    def t(self, key: str, **extra) -> str:
        cats = self.journey.catalogues
        if key not in cats.by_code["en"].strings:
            return ""
        return cats.text(self.lang, key, **{**self.values, **extra})


def step(journey: Journey, state: dict, user_input: str | None, ports) -> tuple[Reply, dict]:
    """Apply one input (None = the session just started) and render the next screen."""
    # A copy, so the caller's state is never changed; states are plain JSON, and an orjson
    # round trip copies them many times faster than deepcopy.
    state = orjson.loads(orjson.dumps(state)) if state else {}
    state.setdefault("lang", "en")
    ctx = Context(journey, state, ports)
    if user_input is None or "screen" not in state:
        candidate = state.pop("resume_candidate", None)
        state.update(screen=journey.start, stack=[], page=0, bad=0)
        if candidate and candidate.get("screen") in journey.screens and candidate.get("screen") != journey.start:
            state["v"]["resume"] = candidate
            state["screen"] = "resume"
        return _render(ctx, journey.screens[state["screen"]]), state
    return _handle(ctx, user_input.strip()), state


def _go(ctx: Context, target: str) -> Reply:
    state = ctx.state
    if target == ctx.journey.start:
        state["stack"] = []
    elif target != state["screen"] and ctx.journey.screens[state["screen"]].type != "end":
        # Remember the page too ("centres@2"), so 0 Back returns to the page the caller left.
        here = state["screen"] if not state.get("page") else f"{state['screen']}@{state['page']}"
        state["stack"] = (state["stack"] + [here])[-MAX_STACK:]
    state.update(screen=target, page=0, bad=0)
    return _render(ctx, ctx.journey.screens[target])


def _invalid(ctx: Context, screen: Screen, hint_key: str = "nav.invalid") -> Reply:
    ctx.state["bad"] = ctx.state.get("bad", 0) + 1
    if ctx.state["bad"] >= MAX_BAD:
        ctx.state["screen"] = TOO_MANY
        return Reply(ctx.t("nav.too_many"), True)
    return _render(ctx, screen, hint=hint_key)


def _handle(ctx: Context, raw: str) -> Reply:
    journey, state = ctx.journey, ctx.state
    screen = journey.screens.get(state["screen"])
    if screen is None or screen.type == "end":
        return Reply(ctx.t("nav.ended"), True)
    if raw == "00":
        state.update(screen=journey.start, stack=[], page=0, bad=0)
        return _render(ctx, journey.screens[journey.start])
    if raw == "0":
        if state.get("page", 0) > 0:
            state["page"] -= 1
        elif state["stack"]:
            sid, _at, page = state["stack"].pop().partition("@")
            state.update(screen=sid, page=int(page or 0))
        state["bad"] = 0
        return _render(ctx, journey.screens[state["screen"]])
    pages = _pages(ctx, screen)  # not before Back: leaving a screen need not render it
    if raw == "98":
        if state.get("page", 0) + 1 < len(pages):
            state["page"] += 1
            state["bad"] = 0
            return _render(ctx, screen)
        return _invalid(ctx, screen)
    if screen.type == "menu":
        if raw.isdigit() and 1 <= int(raw) <= len(screen.options):
            option = screen.options[int(raw) - 1]
            if option.action and not actions.ACTIONS[option.action](ctx, int(raw)):
                return _go(ctx, option.otherwise) if option.otherwise else _invalid(ctx, screen)
            state["lang"] = ctx.lang
            if ctx.resume:
                return _resume(ctx)
            return _go(ctx, option.goto)
        return _invalid(ctx, screen)
    if screen.type == "input":
        if raw and actions.ACTIONS[screen.action](ctx, raw):
            return _go(ctx, screen.goto)
        return _invalid(ctx, screen, screen.hint or "nav.invalid")
    if screen.type == "list":
        items = actions.PROVIDERS[screen.items](ctx)
        page = pages[min(state.get("page", 0), len(pages) - 1)] if items else []
        if raw.isdigit() and 1 <= int(raw) <= len(page):
            item_id = items[page[int(raw) - 1]][0]
            if actions.ACTIONS[screen.select](ctx, item_id):
                state["lang"] = ctx.lang
                return _go(ctx, screen.goto)
        return _invalid(ctx, screen)
    return _invalid(ctx, screen)  # info screens take only navigation


def _resume(ctx: Context) -> Reply:
    saved = ctx.values.get("resume") or {}
    lang = ctx.lang
    ctx.state.clear()
    ctx.state.update(copy.deepcopy(saved))
    ctx.state.update(lang=lang, bad=0)
    ctx.state.setdefault("stack", [])
    ctx.state.setdefault("v", {})
    ctx.values = ctx.state["v"]
    return _render(ctx, ctx.journey.screens[ctx.state["screen"]])


def _list_parts(ctx: Context, screen: Screen):
    items = actions.PROVIDERS[screen.items](ctx)
    title = ctx.t(screen.title)
    hint = ctx.t("nav.invalid")
    return items, title, [title, hint]  # pages must fit under either header


def _pages(ctx: Context, screen: Screen) -> list:
    if screen.type == "list":
        items, _title, header = _list_parts(ctx, screen)
        return paginate_items(header, [label for _id, label in items], ctx.t("nav.more"),
                              nav_lines(ctx.journey, screen, ctx.lang, True))
    if screen.type == "info":
        text = actions.RENDERERS[screen.render](ctx)
        nav = nav_lines(ctx.journey, screen, ctx.lang, True)
        # Room for the invalid-input hint too: _render puts it above the page (pages must
        # fit either way, as list pages do).
        hint = [ctx.t("nav.invalid")]
        return paginate_text(text, [ctx.t("nav.more"), *nav, *hint], [*nav, *hint])
    return [None]


def _render(ctx: Context, screen: Screen, hint: str | None = None) -> Reply:
    lang, state = ctx.lang, ctx.state
    nav = nav_lines(ctx.journey, screen, lang, True)
    if screen.type == "end":
        return Reply(ctx.t(screen.title), True)
    if screen.type == "menu":
        title = ctx.t(hint) if hint else ctx.t(screen.title)
        labels = [ctx.t(o.label) for o in screen.options]
        return Reply(render_page(title, labels, False, "", nav), False)
    if screen.type == "input":
        text = ctx.t(hint) if hint else ctx.t(screen.title)
        return Reply("\n".join([text, *nav]), False)
    if screen.type == "list":
        items, title, header = _list_parts(ctx, screen)
        if not items:
            return Reply("\n".join([ctx.t(screen.empty or "nav.empty"), *nav]), False)
        pages = paginate_items(header, [label for _id, label in items], ctx.t("nav.more"), nav)
        n = min(state.get("page", 0), len(pages) - 1)
        state["page"] = n
        labels = [items[i][1] for i in pages[n]]
        return Reply(render_page(ctx.t(hint) if hint else title, labels, n + 1 < len(pages), ctx.t("nav.more"), nav), False)
    pages = _pages(ctx, screen)
    n = min(state.get("page", 0), len(pages) - 1)
    state["page"] = n
    more = [ctx.t("nav.more")] if n + 1 < len(pages) else []
    body = pages[n]
    if hint:
        body = ctx.t(hint) + "\n" + body
    return Reply("\n".join([body, *more, *nav]), False)


# --- texts the gateway sends by SMS (composed here so wording stays in the catalogues) -------

def _cats() -> Catalogues:
    return Catalogues.load()  # cached per folder: the same object the journey holds


def apology_text(lang: str) -> str:
    return _cats().text(lang, "error.apology")


def other_code_text(lang: str, code: str) -> str:
    """The polite END for a hop to a USSD code we do not serve: which code to dial instead."""
    return _cats().text(lang, "ussd.other_code", code=code)


def centre_sms_text(details, lang: str) -> str:
    """The centre's full details for an SMS (may take several segments; that is its job)."""
    cats = _cats()
    unknown = cats.text(lang, "centre.unknown")
    where = actions.place_line(details)
    lines = [
        details.name,
        f"{cats.text(lang, 'centre.address')}: {where or unknown}",
        f"{cats.text(lang, 'centre.hours')}: {details.hours or cats.text(lang, 'centre.hours_default')}",
        f"{cats.text(lang, 'centre.phone')}: {details.phone or unknown}",
    ]
    if details.services_by_block:
        names = [n for _block, items in details.services_by_block for n in items]
        lines.append(f"{cats.text(lang, 'centre.services_label')}: {', '.join(names)}")
    coming = coming_up_line(details.coming_up, lang)
    return "\n".join([*lines, coming] if coming else lines)


def subscription_sms_text(centre_name: str, subscribed: bool, lang: str, alerts: bool = False) -> str:
    """The SMS confirming a (un)subscription; ``alerts``: one with office-down alerts."""
    key = "sms.subscribed_alerts" if subscribed and alerts else "sms.subscribed" if subscribed else "sms.unsubscribed"
    return _cats().text(lang, key, centre=short_centre_name(centre_name))
