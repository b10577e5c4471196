"""Static screens (menu, input, end) as the caller sees them, navigation lines included, and
the load-time check that every one fits the USSD budget in every language.

Contract: :func:`render_static` renders a static screen as the engine shows it, for
:func:`static_screen_problems` (the loader's budget check). :func:`nav_lines` gives a screen's navigation lines (0 Back, 00 Main menu, 98 More).
"""

from __future__ import annotations

from menus.journey import Journey, Screen
from menus.render import fits, menu_text, render_page, shorten


def render_static(journey: Journey, screen: Screen, lang: str, values: dict, hint: bool = False) -> str:
    """A menu/input/end screen as the caller sees it (used by the loader's budget check)."""
    cats = journey.catalogues
    title = cats.text(lang, screen.title, **values) if screen.title else ""
    if hint:
        title = cats.text(lang, screen.hint or "nav.invalid", **values)
    nav = nav_lines(journey, screen, lang, last_page=True)
    if screen.type == "menu":
        labels = [cats.text(lang, o.label, **values) for o in screen.options]
        # render_page may shorten labels (every choice stays visible), but its last resort,
        # cutting the screen itself, choices and all, must not let an over-long translation
        # pass the check: then the screen is judged as written.
        shortest = menu_text(title, [shorten(label, 4) for label in labels], nav)
        if not fits(shortest):
            return menu_text(title, labels, nav)
        return render_page(title, labels, False, "", nav)
    return "\n".join([title, *nav]).strip()


def nav_lines(journey: Journey, screen: Screen, lang: str, last_page: bool) -> list[str]:
    if screen.type == "end" or screen.id == journey.start:
        return []
    if screen.id == "resume":
        return []
    return [journey.catalogues.text(lang, "nav.back")]


SAMPLE_VALUES = {
    "centre": "Thusong Langeberg Municipality",  # longest short name in the seed data
    "place": "Pietermaritzburg",
    "service": "Further education and training (FET)",
    "province": "KwaZulu-Natal",
    "area": "Nelson Mandela Bay",
    "code": "*134*1234#",
}


def static_screen_problems(journey) -> list[tuple[str, str]]:
    """(screen id, problem) for every menu/input/end screen over budget in any language."""
    problems = []
    for code in journey.languages:
        for sid, screen in journey.screens.items():
            if screen.type in ("list", "info"):
                continue  # paginated by construction; the tests render them with real data
            for hint in (False, True):
                text = render_static(journey, screen, code, SAMPLE_VALUES, hint=hint)
                if not fits(text):
                    problems.append((sid, f"{code}: {len(text)} chars over the USSD budget{' with hint' if hint else ''}"))
    return problems
