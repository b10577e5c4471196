"""One language's strings as a translator or reviewer sees them: the English, the current
wording, its review state, where it appears, the placeholders it must keep and its budget.

Contract: :class:`Files` names the files (catalogues, their review marks, keywords.yaml; the
shipped ones by default). :func:`entries` lists every string of a language in the English
catalogue's order, then the SMS keywords (key ``keywords.<action>``, the words comma-separated),
as :class:`Entry`. :func:`status` counts them: total, reviewed, draft, missing, over budget.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path

from menus.catalogue import CATALOGUES, FALLBACK, Catalogues, read_yaml
from menus.journey import JOURNEYS, Journey, build_journey
from menus.keywords import KEYWORDS
from menus.review import Mark, load_reviews, state_of
from menus.string_budget import Budget, budgets, over_budget

KEYWORD_PREFIX = "keywords."


@dataclass(frozen=True)
class Files:
    """Where the translatable files are (tests point it at a copy)."""

    catalogues: Path = CATALOGUES
    keywords: Path = KEYWORDS

    def catalogue(self, lang: str) -> Path:
        return self.catalogues / f"{lang}.yaml"


@dataclass(frozen=True)
class Entry:
    key: str
    english: str
    text: str | None  # None: the language lacks it (the phone shows the English)
    state: str  # reviewed | draft | missing
    mark: Mark | None
    where: str  # "screen main", "SMS reply", "SMS keyword", …
    placeholders: tuple[str, ...] = ()
    budget: Budget | None = None  # None for keywords (no screen)

    @property
    def over_budget(self) -> bool:
        return self.text is not None and over_budget(self.text, self.budget)

    @property
    def is_keyword(self) -> bool:
        return self.key.startswith(KEYWORD_PREFIX)


@dataclass(frozen=True)
class Status:
    lang: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)  # total reviewed draft missing over_budget


def placeholders(text: str) -> tuple[str, ...]:
    """The ``{names}`` in ``text``, in order, each once (ValueError on unbalanced braces)."""
    found = [name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None]
    return tuple(dict.fromkeys(found))


def journey_for(catalogues: Catalogues) -> Journey:
    """The citizen journey over ``catalogues``, not validated (budgets are measured, not judged)."""
    return build_journey(read_yaml(JOURNEYS / "citizen.yaml"), catalogues)


def keywords_of(files: Files) -> dict[str, dict[str, list[str]]]:
    """action → language → words, as keywords.yaml holds them."""
    data = read_yaml(files.keywords)
    return {a: {lang: [str(w) for w in words or ()] for lang, words in (by or {}).items()}
            for a, by in data["actions"].items()}


def entries(files: Files, lang: str, catalogues: Catalogues | None = None) -> list[Entry]:
    cats = catalogues or Catalogues.read(files.catalogues)
    english = cats.by_code[FALLBACK].strings
    own = cats.by_code[lang].strings if lang in cats.by_code else {}
    marks = load_reviews(files.catalogues, lang)
    room = budgets(journey_for(cats), lang)
    out = []
    for key, source in english.items():
        text = own.get(key)
        out.append(Entry(key, source, text, state_of(lang, text, marks.get(key)), marks.get(key),
                         room[key].where, placeholders(source), room[key]))
    for action, by_lang in keywords_of(files).items():
        key = KEYWORD_PREFIX + action
        words = by_lang.get(lang)
        text = ", ".join(words) if words else None
        out.append(Entry(key, ", ".join(by_lang.get(FALLBACK, ())), text,
                         state_of(lang, text, marks.get(key)), marks.get(key), "SMS keyword"))
    return out


def status(files: Files, lang: str, catalogues: Catalogues | None = None) -> Status:
    cats = catalogues or Catalogues.read(files.catalogues)
    found = entries(files, lang, cats)
    counts = {"total": len(found), **{s: sum(e.state == s for e in found) for s in ("reviewed", "draft", "missing")},
              "over_budget": sum(e.over_budget for e in found)}
    name = cats.by_code[lang].name if lang in cats.by_code else lang
    return Status(lang, name, counts)
