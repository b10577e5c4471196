"""Every USSD screen and SMS reply of a language as a phone shows it, beside the English, and
which strings each shows: what a reviewer reads on the review page.

Contract: :func:`screens` renders a language over the live directory: each static screen
(menu, prompt, end) as the loader renders it with the longest real names, each list and
details screen as the budget walk (``gateway.ussd.walk``) first met it with real centres; then
the strings no screen names alone (lines of the details pages) and the SMS replies, each
filled with the same names. Each string is listed under the first screen that shows it.
Results are kept per wording (a walk takes about a second), so a page stays quick.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.ussd.walk import walk_language
from menus.catalogue import FALLBACK, Catalogues
from menus.screens import SAMPLE_VALUES, render_static
from menus.string_budget import filled
from menus.translation import journey_for

NAV = ("nav.back", "nav.more")
_CACHE: dict[tuple, list] = {}
_CACHE_SIZE = 24


@dataclass
class Shown:
    screen: str  # a screen id, or "details lines", "SMS replies"
    text: str  # as the phone shows it, in the language ("" for a group of lines)
    english: str
    keys: list[str] = field(default_factory=list)


def screens(rt, catalogues: Catalogues, lang: str) -> list[Shown]:
    """See the module's contract; ``catalogues`` as the files hold them now."""
    fingerprint = (lang, tuple(sorted(catalogues.by_code[lang].strings.items())),
                   tuple(sorted(catalogues.by_code[FALLBACK].strings.items())))
    found = _CACHE.get(fingerprint)
    if found is None:
        found = _CACHE[fingerprint] = _render(rt, catalogues, lang)
        # A web worker's threads share the cache: list() copies the keys in one step, a key
        # another thread dropped first is skipped, and the answer is the one rendered here.
        for oldest in list(_CACHE)[:-_CACHE_SIZE]:
            _CACHE.pop(oldest, None)
    return found


def _render(rt, catalogues: Catalogues, lang: str) -> list[Shown]:
    journey = journey_for(catalogues)
    walked = {code: walk_language(rt, journey, code).first_pages for code in {lang, FALLBACK}}
    out, placed = [], set()
    for sid, screen in journey.screens.items():
        if screen.type in ("menu", "input", "end"):
            text, english = (render_static(journey, screen, code, SAMPLE_VALUES) for code in (lang, FALLBACK))
        else:
            text, english = walked[lang].get(sid, ""), walked[FALLBACK].get(sid, "")
        keys = [k for k in [*screen.text_keys(), *(NAV if screen.type != "end" else ())] if k not in placed]
        placed.update(keys)
        out.append(Shown(sid, text, english, keys))
    english = catalogues.by_code[FALLBACK].strings
    lines = [k for k in english if k not in placed and not k.startswith("sms.")]
    sms = [k for k in english if k not in placed and k.startswith("sms.")]
    out.append(Shown("details lines", "", "", lines))
    out.append(Shown("SMS replies", "", "", sms))
    return out


def sample(catalogues: Catalogues, lang: str, key: str) -> str:
    """One string as a phone shows it on its own (placeholders filled with real names)."""
    return filled(catalogues.raw(lang, key))
