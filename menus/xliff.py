"""XLIFF 2.0 files for translators whose tools prefer it to PO (memoQ, Trados, Weblate),
written and read with translate-toolkit's XLIFF 2 store.

Contract: :func:`export_xliff` gives one language's :class:`~menus.translation.Entry` list as
one ``<file>`` of ``<unit id="KEY">``s: ``<source>`` the English, ``<target>`` the current
wording (none when missing), the segment's ``state`` ``reviewed`` for a string a native
speaker reviewed and ``translated`` for a draft, and a developer note (before the segment, as
XLIFF 2.0 orders a unit) saying where it appears, the placeholders it must keep and its
budget — the same note the PO file carries. :func:`read_xliff` reads one back as the PO
reader's :class:`~menus.po.PoString` rows (``fuzzy`` unless the state is ``reviewed`` or
``final``), with the line each unit starts on. Exporting twice gives the same bytes.
"""

from __future__ import annotations

from lxml import etree
from translate.storage.xliff2 import Xliff2File

from menus.po import PoString, translator_note
from menus.translation import Entry

_NS = "urn:oasis:names:tc:xliff:document:2.0"
_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def export_xliff(found: list[Entry], lang: str, drafts_only: bool = False) -> str:
    store = Xliff2File(sourcelanguage="en", targetlanguage=lang)
    for entry in found:
        if drafts_only and entry.state == "reviewed":
            continue
        unit = store.addsourceunit(entry.english)
        unit.setid(entry.key)
        if entry.text is not None:
            unit.target = entry.text
            unit.markapproved(entry.state == "reviewed")
        _tidy(unit, translator_note(entry))
    return bytes(store).decode("utf-8")


def _tidy(unit, note: str) -> None:
    """The note on the unit, before its segment, and ``xml:space`` on the unit: XLIFF 2.0 has
    neither on ``<segment>``, where the store puts them."""
    segment = unit.xmlelement
    owner = unit.getunitelement()
    if segment.get(_SPACE) is not None:
        owner.set(_SPACE, segment.attrib.pop(_SPACE))
    notes = etree.Element(f"{{{_NS}}}notes")
    etree.SubElement(notes, f"{{{_NS}}}note", category="developer").text = note
    owner.insert(0, notes)


def read_xliff(path: str) -> tuple[str | None, list[PoString]]:
    """(the file's target language, its strings); ValueError on a file that is not XLIFF 2."""
    with open(path, "rb") as fh:
        try:
            store = Xliff2File.parsestring(fh.read())
        except etree.XMLSyntaxError as exc:
            raise ValueError(str(exc)) from None
    rows = [PoString(unit.getid() or "", unit.source or "", unit.target or "", not unit.isapproved(),
                     unit.getunitelement().sourceline or 0)
            for unit in store.getunits()]
    return store.gettargetlanguage() or None, rows
