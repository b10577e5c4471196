"""Taking a translator's or reviewer's wording into the catalogues, string by string.

Contract: :func:`import_po` reads a PO file (``menus.po``) and judges every string
(``gateway.staff.translation_checks``): one refused — an unknown key, an English wording that
changed since the export, a placeholder lost or invented, a screen or SMS over budget, a
keyword that clashes or is a place — is named with its line and left as it was; the others are
accepted. :func:`apply` writes the accepted ones: a changed wording replaces its one line in
the catalogue (or keywords.yaml); a string the file does not mark ``fuzzy`` becomes reviewed
by ``reviewer`` (if one is named) unless it already is, for that wording. Nothing else changes:
importing an unchanged export writes no file. Raises :class:`TranslationFileError` when the
file as a whole cannot be taken (unreadable, no or unknown language, English).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from gateway.staff.translation_checks import Finding, check_keywords, check_string, screen_problems
from menus.catalogue import FALLBACK, Catalogues
from menus.catalogue_edit import keyword_words, set_keywords, set_string
from menus.po import PoString, read_po
from menus.review import Mark, dump_reviews, load_reviews, review_path, text_hash
from menus.translation import KEYWORD_PREFIX, Entry, Files, entries, keywords_of
from menus.xliff import read_xliff

MAX_PASSES = 4  # a string refused on its screen is set aside and the rest walked again


class TranslationFileError(ValueError):
    """The file cannot be imported at all (not PO, no language, English, unknown language)."""


@dataclass
class Accepted:
    key: str
    text: str
    line: int
    review: bool  # the file marks it reviewed (not fuzzy)


@dataclass
class ImportReport:
    lang: str
    findings: list[Finding] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # keys whose wording changed
    reviewed: list[str] = field(default_factory=list)  # keys newly marked reviewed
    written: list[Path] = field(default_factory=list)

    @property
    def refused(self) -> list[Finding]:
        return [f for f in self.findings if f.refused]


def read_file(path: str) -> tuple[str, list[PoString]]:
    """A PO file, or an XLIFF 2 file (``.xlf``/``.xliff``), as (language, strings)."""
    kind, reader = ("XLIFF 2", read_xliff) if path.lower().endswith((".xlf", ".xliff")) else ("PO", read_po)
    try:
        lang, rows = reader(path)
    except (OSError, ValueError) as exc:
        raise TranslationFileError(f"{path}: not a readable {kind} file ({exc})") from None
    if not lang:
        raise TranslationFileError(f"{path}: the file names no language (PO: Language header; XLIFF: trgLang)")
    return lang, rows


def judge(rt, files: Files, lang: str, rows: list[PoString]) -> ImportReport:
    """Every string of the file checked; the report lists what is accepted and what is not."""
    cats = Catalogues.read(files.catalogues)
    if lang == FALLBACK:
        raise TranslationFileError("English is the source: change menus/catalogues/en.yaml itself")
    if lang not in cats.by_code:
        raise TranslationFileError(f"unknown language {lang!r}: one of {', '.join(sorted(cats.by_code))}")
    report = ImportReport(lang)
    current = {e.key: e for e in entries(files, lang, cats)}
    table = keywords_of(files)
    place_named = _place_finder(rt)
    for row in rows:
        entry = current.get(row.key)
        if entry is None:
            report.findings.append(Finding(row.line, row.key or "(no msgctxt)", "unknown string: not in the English catalogue"))
            continue
        if row.english != entry.english:
            report.findings.append(Finding(row.line, row.key, f"translated from an older English wording; "
                                           f"it is now {entry.english!r}: export again"))
            continue
        if not row.text:
            continue  # untranslated: the phone keeps what it shows now
        found = (check_keywords(entry, row.text, row.line, lang, table, place_named) if entry.is_keyword
                 else check_string(entry, row.text, row.line))
        report.findings += found
        if not any(f.refused for f in found):
            report.accepted.append(Accepted(row.key, row.text, row.line, not row.fuzzy))
    _judge_screens(rt, cats, lang, current, report)
    return report


def _place_finder(rt):
    def place_named(word: str) -> str | None:
        place = rt.gazetteer.exact(word)
        return place.name if place else None
    return place_named


def _judge_screens(rt, cats: Catalogues, lang: str, current: dict[str, Entry], report: ImportReport) -> None:
    """Walk the language's screens with the accepted wording in place; a string blamed for a
    screen over budget is refused, and the rest walked again without it."""
    for _ in range(MAX_PASSES):
        changed = {a.key: a.text for a in report.accepted
                   if not a.key.startswith(KEYWORD_PREFIX) and a.text != current[a.key].text}
        if not changed:
            return
        own = cats.by_code[lang]
        trial = Catalogues({**cats.by_code, lang: replace(own, strings={**own.strings, **changed})})
        blamed = screen_problems(rt, trial, lang, changed)
        if not blamed:
            return
        lines = {a.key: a.line for a in report.accepted}
        report.findings += [Finding(lines[k], k, "over the screen budget: " + "; ".join(why[:2]))
                            for k, why in blamed.items()]
        report.accepted = [a for a in report.accepted if a.key not in blamed]


def apply(files: Files, report: ImportReport, reviewer: str | None, today: date) -> ImportReport:
    """Write the accepted strings (and review marks); only files that change are written."""
    lang, order = report.lang, list(Catalogues.read(files.catalogues).by_code[FALLBACK].strings)
    current = {e.key: e for e in entries(files, lang)}
    catalogue, keywords = files.catalogue(lang), files.keywords
    cat_text, kw_text = catalogue.read_text(encoding="utf-8"), keywords.read_text(encoding="utf-8")
    marks = load_reviews(files.catalogues, lang)
    new_cat, new_kw, new_marks = cat_text, kw_text, dict(marks)
    for a in report.accepted:
        if a.text != current[a.key].text:
            report.changed.append(a.key)
            if a.key.startswith(KEYWORD_PREFIX):
                new_kw = set_keywords(new_kw, a.key[len(KEYWORD_PREFIX):], lang, keyword_words(a.text))
            else:
                new_cat = set_string(new_cat, a.key, a.text, order)
        if a.review and reviewer:
            wording = ", ".join(keyword_words(a.text)) if a.key.startswith(KEYWORD_PREFIX) else a.text
            old = marks.get(a.key)
            if old is None or old.text_hash != text_hash(wording):
                new_marks[a.key] = Mark(reviewer, today.isoformat(), text_hash(wording))
                report.reviewed.append(a.key)
    for path, old_text, new_text in ((catalogue, cat_text, new_cat), (keywords, kw_text, new_kw)):
        if new_text != old_text:
            path.write_text(new_text, encoding="utf-8")
            report.written.append(path)
    if new_marks != marks:
        path = review_path(files.catalogues, lang)
        path.parent.mkdir(exist_ok=True)
        path.write_text(dump_reviews(new_marks), encoding="utf-8")
        report.written.append(path)
    return report


def import_po(rt, files: Files, path: str, reviewer: str | None, today: date) -> ImportReport:
    """Read, judge and apply one PO file (see the module's contract)."""
    lang, rows = read_file(path)
    return apply(files, judge(rt, files, lang, rows), reviewer, today)
