"""How much room each string has where it lands: the screen (with its navigation lines) or
the SMS reply. What a translator is told beside each string, and the per-string "over budget"
count of ``thusong translations status``.

Contract: :func:`budgets` gives, for every key of a language, a :class:`Budget`: where the
string appears and how many characters it may take there (placeholders filled with the
loader's longest real values, ``menus.screens.SAMPLE_VALUES``) — in GSM-7, and in UCS-2, the
encoding one letter outside GSM-7 (``š``, ``ṱ``) forces on the whole screen, which halves it.
A static screen (menu, prompt, end) is rendered whole with the string in place, as the loader
checks it; a list or details page is counted with its navigation and one 20-character choice
(the live data decides the rest: the budget walk, ``gateway.ussd.walk``, checks those pages
for real). :func:`over_budget` says whether a wording exceeds its budget.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from menus.catalogue import Catalogues
from menus.journey import Journey, Screen
from menus.render import menu_text, screen_length, shorten
from menus.screens import SAMPLE_VALUES, nav_lines, render_static
from menus.segments import (
    USSD_SCREEN_BUDGET,
    USSD_SCREEN_BUDGET_UCS2,
    gsm_length,
    is_gsm7,
    ucs2_length,
)

SMS_GSM7, SMS_UCS2 = 2 * 153, 2 * 67  # a reply of at most two parts (menus.keywords.REPLY_SEGMENTS)
MARK = "@"  # stands for the string while the rest of its screen is measured: one GSM-7 septet
SAMPLE_CHOICE = "x" * 20


@dataclass(frozen=True)
class Budget:
    where: str  # "screen main", "SMS reply", "details and list pages"
    gsm7: int  # characters the string may take when the screen is GSM-7
    ucs2: int  # … when one letter outside GSM-7 makes the screen UCS-2
    static: bool = False  # counted on the whole screen as shown (a menu, prompt or end screen)

    def describe(self) -> str:
        """The budget in a translator's words (the PO file's comment)."""
        if self.where == "SMS reply":
            return (f"Budget: {self.gsm7} GSM-7 characters (an SMS reply of at most 2 parts); one letter "
                    f"outside GSM-7 (e.g. š) makes the whole SMS UCS-2: then {self.ucs2}.")
        then = (f"then {self.ucs2}" if self.ucs2 else "then it does not fit at all")
        return (f"Budget: {self.gsm7} GSM-7 characters on this screen with its navigation lines; one "
                f"letter outside GSM-7 (e.g. š) makes the whole screen UCS-2, about half the room: {then}.")


def filled(text: str) -> str:
    """``text`` with its placeholders filled as the budget counts them."""
    return text.format_map(_Samples(SAMPLE_VALUES))


class _Samples(dict):
    def __missing__(self, key: str) -> str:
        return ""


def over_budget(text: str, budget: Budget | None) -> bool:
    if budget is None:
        return False
    shown = filled(text)
    return screen_length(shown) > (budget.gsm7 if is_gsm7(shown) else budget.ucs2)


def budgets(journey: Journey, lang: str) -> dict[str, Budget]:
    """key → :class:`Budget` for every English key in ``lang`` (keywords have none)."""
    cats = journey.catalogues
    found: dict[str, Budget] = {}

    def keep(key: str, budget: Budget) -> None:
        old = found.get(key)
        if old is None or (budget.gsm7, budget.ucs2) < (old.gsm7, old.ucs2):
            found[key] = budget

    for screen in journey.screens.values():
        if screen.type in ("menu", "input", "end"):
            for key, hint in _static_keys(screen, shows_nav=bool(nav_lines(journey, screen, lang, True))):
                keep(key, _static_budget(journey, screen, lang, key, hint))
        else:
            for key in (screen.title, screen.hint):
                if key:
                    keep(key, _room(cats, lang, f"screen {screen.id}", [SAMPLE_CHOICE], more=True))
            if screen.type == "list":
                keep(screen.empty or "nav.empty", _room(cats, lang, f"screen {screen.id}", [], more=False))
    for key in cats.by_code["en"].strings:
        if key in found:
            continue
        if key.startswith("sms."):
            found[key] = Budget("SMS reply", SMS_GSM7, SMS_UCS2)
        else:
            found[key] = _room(cats, lang, "details and list pages", [], more=True)
    return found


def _static_keys(screen: Screen, shows_nav: bool) -> list[tuple[str, bool]]:
    """The keys a static screen shows; ``nav.back`` only where the screen has the navigation
    line (not the main menu or the resume question): elsewhere the room left is not its."""
    keys = [(screen.title, False)] if screen.title else []
    if screen.type != "end":
        keys.append((screen.hint or "nav.invalid", True))
        keys += [(o.label, False) for o in screen.options]
        if shows_nav:
            keys.append(("nav.back", False))
    return keys


def _static_budget(journey: Journey, screen: Screen, lang: str, key: str, hint: bool) -> Budget:
    """Render the screen with ``key`` standing as one septet: the rest is what it shares the
    screen with. On a menu's invalid-input variant the choices may be shortened (the engine
    does, keeping every choice): the hint's room is what is left beside four-letter choices,
    as the loader counts it; a choice's room is counted on the screen as first shown."""
    marked = _with(journey.catalogues, lang, key, MARK)
    if hint and screen.type == "menu":
        labels = [shorten(marked.text(lang, o.label, **SAMPLE_VALUES), 4) for o in screen.options]
        return _budget(f"screen {screen.id}", menu_text(MARK, labels, nav_lines(journey, screen, lang, True)), True)
    rest = render_static(dataclasses.replace(journey, catalogues=marked), screen, lang, SAMPLE_VALUES, hint=hint)
    return _budget(f"screen {screen.id}", rest, True)


def _room(cats: Catalogues, lang: str, where: str, choices: list[str], more: bool) -> Budget:
    nav = ([cats.text(lang, "nav.more")] if more else []) + [cats.text(lang, "nav.back")]
    return _budget(where, menu_text(MARK, choices, nav))


def _budget(where: str, rest: str, static: bool = False) -> Budget:
    gsm = USSD_SCREEN_BUDGET - (gsm_length(rest) - 1) if is_gsm7(rest) else 0
    return Budget(where, max(gsm, 0), max(USSD_SCREEN_BUDGET_UCS2 - (ucs2_length(rest) - 1), 0), static)


def _with(cats: Catalogues, lang: str, key: str, text: str) -> Catalogues:
    cat = cats.by_code.get(lang) or cats.by_code["en"]
    return Catalogues({**cats.by_code, lang: dataclasses.replace(cat, strings={**cat.strings, key: text})})
