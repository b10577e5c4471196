"""A centres CSV a person can make is read, never a crash (issue 17, item 7): a cell over
Python csv's 131,072-character limit, a bare carriage return, a value longer than its column or
holding a NUL (PostgreSQL refuses both; SQLite keeps them) each reject their own row, by line,
in the preview, the confirmation and ``thusong centres import`` alike; the rows around them
import. A semicolon-separated file (Excel's default in South Africa) is read like a comma one."""

from __future__ import annotations

import csv
import io
import re

import pytest
from click.testing import CliRunner
from markupsafe import escape
from sqlalchemy import func, select

from gateway.cli import main
from gateway.directory.centre_csv import COLUMNS, export_centres, import_centres
from gateway.directory.spreadsheet import CELL_LIMIT
from gateway.store.models import Centre, Municipality
from tests.conftest import SEED_ROWS

HEADER = "name,province,municipality,town,address,phone,latitude,longitude,source,coord_source,notes"
GOOD = "Good {n} Thusong,Gauteng,,Soweto,,,,,,,"
# (label, the row as written in the file, what the rejection says). Each is followed by a good row.
BAD_ROWS = [
    ("cell-over-csv-limit", f"Long Notes Thusong,Gauteng,,Soweto,,,,,,,{'x' * (CELL_LIMIT + 1)}",
     f"notes: longer than {CELL_LIMIT} characters"),
    ("quoted-cell-over-limit", f'Long Quoted Thusong,Gauteng,,Soweto,,,,,,,"{"y" * (CELL_LIMIT + 1)}\nmore"',
     f"notes: longer than {CELL_LIMIT} characters"),
    ("bare-carriage-return", "Bare CR Thusong,Gauteng,,Soweto\rWest,,,,,,,", "a carriage return"),
    ("long-municipality", f"Municipality Thusong,Gauteng,{'M' * 129},Soweto,,,,,,,",
     "municipality: longer than 128 characters"),
    ("nul", "NUL Thusong,Gauteng,,Soweto,Main\x00Road,,,,,,", "address: contains a NUL character"),
    ("long-phone", f"Phone Thusong,Gauteng,,Soweto,,{'0' * 33},,,,,", "phone: longer than 32 characters"),
    ("long-town", f"Town Thusong,Gauteng,,{'T' * 129},,,,,,,", "town: longer than 128 characters"),
    ("long-name", f"{'N' * 201},Gauteng,,Soweto,,,,,,,", "name: longer than 200 characters"),
    ("long-coord-source", f"Coord Thusong,Gauteng,,Soweto,,,-26.2,27.9,,{'b' * 17},",
     "coord_source: longer than 16 characters"),
    ("long-province", f"Province Thusong,{'P' * 5000},,Soweto,,,,,,,", f"unknown province '{'P' * 40}…'"),
    ("too-many-cells", "Shifted Thusong,Gauteng,,Soweto,12 Main Rd, Soweto,011 123 4567,,,,,closed Mondays",
     "12 cells, but the header names 11 columns"),
]


def _file() -> tuple[str, list[tuple[int, str]]]:
    """Every bad row between good ones; the expected (line, reason) of each rejection."""
    lines, expected, line = [HEADER, GOOD.format(n=0)], [], 3
    for n, (_label, row, reason) in enumerate(BAD_ROWS, start=1):
        expected.append((line, reason))
        lines += [row, GOOD.format(n=n)]
        line += row.count("\n") + 2
    return "\n".join(lines) + "\n", expected


def _count(rt, model=Centre) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("label, row, reason", BAD_ROWS, ids=[r[0] for r in BAD_ROWS])
def test_a_row_the_database_would_refuse_is_a_row_error(rt, label, row, reason):
    text = f"{HEADER}\n{GOOD.format(n=1)}\n{row}\n{GOOD.format(n=2)}\n"
    preview = import_centres(rt.sessions, text, rt.gazetteer, dry_run=True)
    done = import_centres(rt.sessions, text, rt.gazetteer)
    for report in (preview, done):
        assert [(line, why[:len(reason)]) for line, _name, why in report.rejected] == [(3, reason)]
        assert report.inserted == 2
        # Shown on the preview page: the name and reason stay short, whatever the cell held.
        assert all(len(name) <= 60 and "\x00" not in name and len(why) <= 200
                   for _line, name, why in report.rejected)
    assert _count(rt) == 2 and _count(rt, Municipality) == 0


def test_preview_confirm_and_the_cli_reject_the_same_rows_by_line(seeded, client, auth, tmp_path, settings,
                                                                   monkeypatch):
    from tests.web.test_staff_centres import after_jobs, upload

    text, expected = _file()
    auth.as_role("admin")
    preview = upload(auth, text, settings=settings)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page
    assert f"{len(BAD_ROWS) + 1} to add, 0 to update, 0 unchanged, {len(BAD_ROWS)} rejected." in page
    for line, reason in expected:
        assert re.search(rf'<td data-label="Line">{line}</td><td data-label="Name">[^<]*</td><td data-label="Why">{re.escape(escape(reason))}', page), (line, reason)
    token = re.search(r'name="token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="token"', page)
    done = after_jobs(auth, settings, auth.post("/staff/centres/import/confirm",
                                                {"token": next(filter(None, token.groups()))}))
    assert done.status_code == 200, done.get_data(as_text=True)
    assert f"Imported: {len(BAD_ROWS) + 1} added, 0 updated, 0 unchanged, {len(BAD_ROWS)} rejected." \
        in done.get_data(as_text=True)
    assert _count(seeded) == SEED_ROWS + len(BAD_ROWS) + 1

    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "centres.csv"
    path.write_bytes(text.replace("Good ", "Other ").encode())
    result = CliRunner().invoke(main, ["centres", "import", "--quiet", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    for line, reason in expected:
        assert f"rejected line {line}: " in result.output
        assert reason in result.output
    assert _count(seeded) == SEED_ROWS + 2 * (len(BAD_ROWS) + 1)
    path.write_bytes("name,province,town\nNaïve Thusong,Gauteng,Soweto\n".encode("latin-1"))
    result = CliRunner().invoke(main, ["centres", "import", "--quiet", str(path)])
    assert result.exit_code == 1 and "is not UTF-8 text" in result.output, result.output


def _semicolons(text: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(csv.reader(io.StringIO(text)))
    return out.getvalue()


def test_an_export_saved_with_semicolons_imports_unchanged(seeded):
    text = export_centres(seeded.sessions)
    assert any(";" in row["services"] for row in csv.DictReader(io.StringIO(text)))
    commas = import_centres(seeded.sessions, text, seeded.gazetteer, dry_run=True)
    report = import_centres(seeded.sessions, _semicolons(text), seeded.gazetteer)
    assert (report.unchanged, report.rejected, report.warnings) == (SEED_ROWS, [], commas.warnings)


def test_a_semicolon_file_with_decimal_commas_is_read(rt):
    text = ("name;province;town;latitude;longitude;services\r\n"
            'Comma Thusong;Gauteng;Soweto;-26,2678;27,8583;"documents;grants"\r\n'
            "Dot Thusong;Gauteng;Soweto;-26.25;27.85;grants\r\n")
    report = import_centres(rt.sessions, text, rt.gazetteer)
    assert (report.inserted, report.rejected) == (2, [])
    with rt.sessions() as s:
        comma = s.scalar(select(Centre).where(Centre.name == "Comma Thusong"))
        assert (comma.latitude, comma.longitude) == (-26.2678, 27.8583)
        assert sorted(x.code for x in comma.services) == ["documents", "grants"]


def test_a_file_with_old_mac_line_ends_is_read(rt):
    text = "\r".join([HEADER, GOOD.format(n=1), GOOD.format(n=2)]) + "\r"
    report = import_centres(rt.sessions, text, rt.gazetteer)
    assert (report.inserted, report.rejected) == (2, [])


def test_a_header_that_cannot_be_read_is_refused_with_a_reason(rt):
    with pytest.raises(ValueError, match="line 1"):
        import_centres(rt.sessions, "name,prov\rince,town\nX,Gauteng,Y\n", rt.gazetteer)
    with pytest.raises(ValueError, match="CSV lacks required columns"):
        import_centres(rt.sessions, "name\tprovince\ttown\nX\tGauteng\tY\n", rt.gazetteer)
    assert COLUMNS[0] == "name"
