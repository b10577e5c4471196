"""CSV cells as a spreadsheet reads them (issue 17, item 5): a text cell that a spreadsheet
would run as a formula is written with a leading single quote (OWASP's rule), plain numbers and
E.164 numbers are left alone, and the centres import takes the quote off again, so export →
import changes nothing. Every CSV writer in the product goes through
:func:`gateway.directory.spreadsheet.csv_text`."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from gateway.directory.centre_csv import COLUMNS, export_centres, import_centres
from gateway.directory.spreadsheet import FORMULA_STARTS, csv_text, restore_cell, safe_cell
from gateway.store.models import Centre

ROOT = Path(__file__).resolve().parents[2]

CELLS = [
    ("equals", '=HYPERLINK("http://evil.example","Click")', '\'=HYPERLINK("http://evil.example","Click")'),
    ("plus-pipe", "+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("at", "@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("minus-sum", "-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("minus-alone", "-", "'-"),
    ("tab", "\t=1+1", "'\t=1+1"),
    ("carriage-return", "\r=1+1", "'\r=1+1"),
    ("negative-latitude", "-26.26781", "-26.26781"),
    ("e164-phone", "+27821234567", "+27821234567"),
    ("exponent", "-1.5e-3", "-1.5e-3"),
    ("spaced-phone", "+27 11 123 4567", "'+27 11 123 4567"),
    ("other-script-digits", "-\u0663", "'-\u0663"),
    ("plain", "Maponya Mall Thusong", "Maponya Mall Thusong"),
    ("formula-later", "Soweto =1+1", "Soweto =1+1"),
    # Excel in South Africa splits a comma file's lines at ';': each piece is a cell's start.
    ("after-semicolon", 'x;=HYPERLINK("http://evil.example")', 'x;\'=HYPERLINK("http://evil.example")'),
    ("services", "documents;grants", "documents;grants"),
    ("quoted-formula", "'=1+1", "''=1+1"),  # written so that the import gives back "'=1+1"
    ("apostrophe-word", "'n Dorp", "'n Dorp"),
    ("empty", "", ""),
]


@pytest.mark.parametrize("value, written", [(v, w) for _label, v, w in CELLS], ids=[c[0] for c in CELLS])
def test_a_cell_that_would_run_is_quoted_and_numbers_are_not(value, written):
    assert safe_cell(value) == written
    assert restore_cell(written) == value


@pytest.mark.parametrize("value", [-26.26781, 28.0, -3, 0, None], ids=["negative-float", "float", "negative-int",
                                                                        "zero", "none"])
def test_numbers_that_are_not_text_are_left_as_they_are(value):
    assert safe_cell(value) is value


@given(st.text(alphabet=st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'", ";", "1", ".", "e", "a", " "]),
               max_size=12))
def test_whatever_is_written_reads_back_as_it_was_and_never_starts_a_formula(value):
    written = safe_cell(value)
    assert restore_cell(written) == value
    for piece in written.split(";"):  # no cell, nor piece of one, starts a formula
        if piece[:1] in FORMULA_STARTS:
            assert re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", piece), piece


def test_csv_text_writes_every_cell_through_safe_cell():
    text = csv_text(["Place typed", "Total"], [["=1+1", 3], ["-26.2", -4]])
    assert list(csv.reader(io.StringIO(text))) == [["Place typed", "Total"], ["'=1+1", "3"], ["-26.2", "-4"]]


def test_no_module_writes_csv_without_csv_text():
    """Any writer added later goes through the one function, or this names it."""
    writers = re.compile(r"csv\.(writer|DictWriter)\b|text/csv")
    found = {str(p.relative_to(ROOT)) for base in ("gateway", "workers")
             for p in (ROOT / base).rglob("*.py") if writers.search(p.read_text(encoding="utf-8"))}
    assert found == {"gateway/directory/spreadsheet.py", "gateway/web/staff/analytics.py",
                     "gateway/web/staff/centres.py"}
    for path in found - {"gateway/directory/spreadsheet.py"}:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert not re.search(r"csv\.(writer|DictWriter)\b", source), path  # they serve text/csv only


def _rename(rt, centre_id: int, **values) -> None:
    with rt.sessions.begin() as s:
        s.execute(update(Centre).where(Centre.id == centre_id).values(**values))


def test_the_centres_export_quotes_a_formula_name_and_imports_back_unchanged(seeded):
    with seeded.sessions() as s:
        first, second = s.scalars(select(Centre.id).order_by(Centre.id).limit(2))
    _rename(seeded, first, name="=cmd", key="cmd", phone="+27115551234", address="@SUM(1+1)",
            notes="-2+3;=HYPERLINK(\"http://evil.example\")")
    _rename(seeded, second, name="'=already quoted", key="already quoted", phone="+27 11 555 1234",
            address="'n Hoek")
    text = export_centres(seeded.sessions)
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(text))}
    assert set(rows["'=cmd"]) == set(COLUMNS)
    assert rows["'=cmd"]["phone"] == "+27115551234" and rows["'=cmd"]["address"] == "'@SUM(1+1)"
    assert rows["'=cmd"]["notes"] == "'-2+3;'=HYPERLINK(\"http://evil.example\")"
    assert rows["''=already quoted"]["phone"] == "'+27 11 555 1234"
    assert rows["''=already quoted"]["address"] == "'n Hoek"
    assert any(r["latitude"].startswith("-") for r in rows.values())  # negative numbers stay numbers
    for row in rows.values():
        for value in row.values():
            assert value[:1] not in FORMULA_STARTS or re.fullmatch(r"[+-]?\d+(\.\d+)?", value), value
    report = import_centres(seeded.sessions, text, seeded.gazetteer)
    assert (report.inserted, report.updated, report.rejected) == (0, 0, [])
    with seeded.sessions() as s:
        centre = s.get(Centre, first)
        assert (centre.name, centre.phone, centre.address) == ("=cmd", "+27115551234", "@SUM(1+1)")
        assert s.get(Centre, second).name == "'=already quoted"
    assert export_centres(seeded.sessions) == text
