"""The checks a translated string passes before it replaces the wording citizens see.

Contract: :func:`check_string` and :func:`check_keywords` judge one string on its own — the
placeholders it must keep, the SMS reply's two parts, a letter that forces UCS-2 where the
wording was GSM-7 (a warning, naming the letter as the broadcast preview does), keywords that
would mean two actions (the grammar's own guard, ``menus.keywords.clashes``) or that are a
place's name. :func:`screen_problems` judges a language's candidate wording on its screens:
the loader's check of every static screen and the budget walk (``gateway.ussd.walk``) over
the live directory, every page of every list; each problem is blamed on the changed strings
it shows. Each finding is a :class:`Finding`; ``refused`` False is a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.staff.preview import first_non_gsm7
from gateway.ussd.walk import walk_language
from menus.catalogue import Catalogues
from menus.catalogue_edit import keyword_words
from menus.keywords import clashes, keyword_key
from menus.render import screen_length
from menus.screens import static_screen_problems
from menus.segments import encoding_of, is_gsm7, measure
from menus.string_budget import filled, over_budget
from menus.translation import Entry, journey_for, placeholders

NAV_KEYS = ("nav.back", "nav.more", "nav.invalid")  # on every screen


@dataclass(frozen=True)
class Finding:
    line: int | None  # where the string starts in the translator's file
    key: str
    reason: str
    refused: bool = True  # False: a warning; the string is still accepted

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.key}: {'refused' if self.refused else 'warning'}: {self.reason}"


def ucs2_warning(text: str, was: str) -> str | None:
    """Why ``text`` costs room ``was`` did not: its first letter outside GSM-7, or None."""
    letter = first_non_gsm7(text)
    if letter is None or not is_gsm7(was):
        return None
    return (f"{letter!r} (U+{ord(letter):04X}) is not GSM-7: the whole screen or SMS becomes UCS-2 and "
            f"holds about half as much (70 characters a screen instead of 160); the wording it replaces "
            f"is GSM-7 — write it without {letter!r} if the language allows")


def check_string(entry: Entry, text: str, line: int) -> list[Finding]:
    """Placeholders, the SMS budget and the GSM-7 warning for one catalogue string."""
    try:
        used = placeholders(text)
    except ValueError as exc:
        return [Finding(line, entry.key, f"unbalanced braces ({exc}): write placeholders as {{name}}")]
    found = []
    lost = [p for p in entry.placeholders if p not in used]
    extra = [p for p in used if p not in entry.placeholders]
    if lost:
        found.append(Finding(line, entry.key, "placeholder " + ", ".join(f"{{{p}}}" for p in lost)
                             + " missing: it must stay, as in the English"))
    if extra:
        found.append(Finding(line, entry.key, "unknown placeholder " + ", ".join(f"{{{p}}}" for p in extra)
                             + ": only " + (", ".join(f"{{{p}}}" for p in entry.placeholders) or "none") + " can be filled"))
    if found:
        return found  # the wording cannot be filled to be measured
    if entry.where == "SMS reply" and over_budget(text, entry.budget):
        found.append(Finding(line, entry.key, f"the SMS reply would take {measure(filled(text)).segments} parts "
                             f"({measure(filled(text)).encoding}); at most 2: {entry.budget.describe()}"))
    elif entry.where.startswith("screen ") and entry.budget and over_budget(text, entry.budget) \
            and _static(entry):
        shown = filled(text)
        room = entry.budget.gsm7 if is_gsm7(shown) else entry.budget.ucs2
        found.append(Finding(line, entry.key, f"{screen_length(shown)} characters ({encoding_of(shown)}) where "
                             f"{entry.where} leaves {room}: the screen would cut its other lines short. "
                             + entry.budget.describe()))
    warning = ucs2_warning(text, entry.text if entry.text is not None else entry.english)
    if warning:
        found.append(Finding(line, entry.key, warning, refused=False))
    return found


def _static(entry: Entry) -> bool:
    """Whether the string's budget was counted on a whole static screen (menu, prompt, end):
    then it is exact; a list or details page's depends on the live data (the walk judges it)."""
    return entry.budget is not None and entry.budget.static


def check_keywords(entry: Entry, text: str, line: int, lang: str, table: dict,
                   place_named: Callable[[str], str | None]) -> list[Finding]:
    """The words of one action in ``lang``: no clash with another action's keyword (in the
    table with these words in place), none a place's name, each GSM-7 (a warning)."""
    action = entry.key.split(".", 1)[1]
    words = keyword_words(text)
    if not words:
        return [Finding(line, entry.key, "no word: write the keywords comma-separated")]
    mine = {keyword_key(w) for w in words}
    trial = {a: {lg: list(ws) for lg, ws in by.items()} for a, by in table.items()}
    trial[action][lang] = words
    found, told = [], set()
    for problem in clashes(trial):
        word = next((w for w in _quoted(problem) if keyword_key(w) in mine), None)
        if word is not None and keyword_key(word) not in told:
            told.add(keyword_key(word))
            found.append(Finding(line, entry.key, f"keyword clash: {problem}"))
    for word in words:
        place = place_named(word)
        if place:
            found.append(Finding(line, entry.key, f"{word!r} is also the place {place}: a citizen texting "
                                 f"the place's name would get {action.upper()} instead"))
        if not is_gsm7(word):
            found.append(Finding(line, entry.key, f"{word!r} has {first_non_gsm7(word)!r}, not GSM-7: many "
                                 "phones cannot type it", refused=False))
    return found


def _quoted(problem: str) -> list[str]:
    return problem.split("'")[1::2]


def screen_problems(rt, catalogues: Catalogues, lang: str, changed: dict[str, str]) -> dict[str, list[str]]:
    """key → why, for the ``changed`` strings (key → line's wording) that break a screen of
    ``lang`` over ``catalogues`` (which hold them): static screens first, then the walk."""
    journey = journey_for(catalogues)
    blamed: dict[str, list[str]] = {}
    for sid, msg in static_screen_problems(journey):
        if not msg.startswith(f"{lang}:"):
            continue
        keys = set(journey.screens[sid].text_keys()) | set(NAV_KEYS)
        for key in (k for k in changed if k in keys):
            blamed.setdefault(key, []).append(f"screen {sid}: {msg.split(': ', 1)[1]}")
    if blamed:
        return blamed
    walker = walk_language(rt, journey, lang)
    for problem in walker.problems:
        keys = [k for k in changed if _shown(changed[k], problem.text)] or list(changed)
        for key in keys:
            blamed.setdefault(key, []).append(f"screen after {problem.path!r}: {problem.why}")
    return blamed


def _shown(text: str, screen: str) -> bool:
    """Whether ``screen`` shows ``text`` (its longest fixed part, placeholders aside)."""
    parts = [p for p in text.replace("{", "}").split("}")[::2] if p.strip()]
    return bool(parts) and max(parts, key=len).strip()[:40] in screen
