"""gettext PO files for translators (Poedit, Weblate, Pootle), written and read with polib.

Contract: :func:`export_po` gives one language's :class:`~menus.translation.Entry` list as a
PO file: ``msgctxt`` the key, ``msgid`` the English, ``msgstr`` the current wording (empty when
missing), ``fuzzy`` on drafts, ``python-brace-format`` on strings with placeholders (so
``msgfmt --check`` compares them), and extracted comments saying where the string appears,
the placeholders it must keep and its budget. :func:`read_po` reads one back as
:class:`PoString` rows carrying the line each entry starts on, for refusals a translator can
find. The file holds no dates: exporting twice gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import polib

from menus.translation import Entry


@dataclass(frozen=True)
class PoString:
    key: str
    english: str
    text: str
    fuzzy: bool
    line: int  # where the entry starts in the file (1-based)


def export_po(found: list[Entry], lang: str, name: str, drafts_only: bool = False) -> str:
    po = polib.POFile(wrapwidth=0)
    po.metadata = {"Project-Id-Version": "thusong-gateway", "PO-Revision-Date": "YEAR-MO-DA HO:MI+ZONE",
                   "Last-Translator": "FULL NAME <EMAIL@ADDRESS>", "Language": lang, "Language-Team": name,
                   "MIME-Version": "1.0", "Content-Type": "text/plain; charset=UTF-8",
                   "Content-Transfer-Encoding": "8bit", "X-Thusong-Language": lang}
    for entry in found:
        if drafts_only and entry.state == "reviewed":
            continue
        flags = (["fuzzy"] if entry.state == "draft" else []) + (["python-brace-format"] if entry.placeholders else [])
        po.append(polib.POEntry(msgctxt=entry.key, msgid=entry.english, msgstr=entry.text or "",
                                flags=flags, comment=translator_note(entry)))
    return str(po) + "\n"


def translator_note(entry: Entry) -> str:
    """Where the string appears, what it must keep and how much room it has (the PO file's
    extracted comment, the XLIFF file's note)."""
    lines = [f"Appears: {entry.where}."]
    if entry.is_keyword:
        lines.append("The words a citizen may text as the first word of an SMS, comma-separated. "
                     "None may be another keyword or a place name.")
    if entry.placeholders:
        lines.append("Keep these placeholders exactly: " + ", ".join(f"{{{p}}}" for p in entry.placeholders) + ".")
    if entry.budget is not None:
        lines.append(entry.budget.describe())
    if entry.state == "reviewed" and entry.mark is not None:
        lines.append(f"Reviewed by {entry.mark.by} on {entry.mark.on}.")
    return "\n".join(lines)


def read_po(path: str) -> tuple[str | None, list[PoString]]:
    """(the file's language, its strings); polib's OSError/IOError on a malformed file."""
    po = polib.pofile(path, wrapwidth=0)
    lang = po.metadata.get("X-Thusong-Language") or po.metadata.get("Language") or None
    rows = [PoString(e.msgctxt or "", e.msgid, e.msgstr, "fuzzy" in e.flags, e.linenum)
            for e in po if not e.obsolete]
    return lang, rows
