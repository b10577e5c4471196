"""A row of a centres CSV with several problems is reported with every one of them, each under
its line number, not only the first (issue 20, item 11): the person fixes the row once. The
report, the command line and the preview page say the same; good rows around it still import."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.directory.centre_csv import COLUMNS, import_centres
from gateway.directory.centre_row import RowErrors, parse_row, province_lookup

HEADER = ",".join(COLUMNS)
BLANK = dict.fromkeys(COLUMNS, "")


def _row(**cells) -> str:
    return ",".join({**BLANK, **cells}[c] for c in COLUMNS)


# (label, the row's cells, every reason it gets, in the columns' order)
ROWS = [
    ("province-point-hours-active-services",
     {"name": "Many Faults Thusong", "province": "Atlantis", "town": "Soweto", "latitude": "-40",
      "longitude": "50", "hours_mon": "8am-4pm", "active": "maybe", "services": "grants;teleport"},
     ["unknown province 'Atlantis'", "latitude -40.0 outside South Africa", "longitude 50.0 outside South Africa",
      "hours_mon: ", "active must be yes or no, not 'maybe'", "unknown service code 'teleport'"]),
    ("no-name-and-bad-numbers",
     {"province": "Gauteng", "town": "Soweto", "latitude": "south", "longitude": "east", "offices": "HA;Narnia"},
     ["missing name", "latitude/longitude not numbers: 'south', 'east'", "unknown office code 'Narnia'"]),
    ("two-hours-and-a-long-phone",
     {"name": "Hours Thusong", "province": "Gauteng", "town": "Soweto", "phone": "0" * 33,
      "hours_tue": "sometimes", "hours_sat": "25:00-26:00"},
     ["hours_tue: ", "hours_sat: ", "phone: longer than 32 characters"]),
]


def _reasons_match(got: list[str], expected: list[str]) -> bool:
    return len(got) == len(expected) and all(g.startswith(e) for g, e in zip(got, expected, strict=True))


@pytest.mark.parametrize("label, cells, expected", ROWS, ids=[r[0] for r in ROWS])
def test_parse_row_lists_every_problem_of_the_row(rt, label, cells, expected):
    with pytest.raises(RowErrors) as raised:
        parse_row({**BLANK, **cells}, province_lookup(), rt.gazetteer, set(COLUMNS), {"grants"}, {"HA"})
    assert _reasons_match(raised.value.reasons, expected), raised.value.reasons
    assert str(raised.value) == "; ".join(raised.value.reasons)


def _file() -> tuple[str, list[tuple[int, str]]]:
    """The bad rows between good ones; every expected (line, reason prefix)."""
    lines, expected = [HEADER, _row(name="Good 0 Thusong", province="Gauteng", town="Soweto")], []
    for n, (_label, cells, reasons) in enumerate(ROWS, start=1):
        lines.append(_row(**cells))
        expected += [(len(lines), why) for why in reasons]
        lines.append(_row(name=f"Good {n} Thusong", province="Gauteng", town="Soweto"))
    lines.append(_row(name="Good 1 Thusong", province="Atlantis", town="Soweto"))  # a duplicate, and bad
    expected += [(len(lines), "unknown province 'Atlantis'"), (len(lines), "duplicate of an earlier row")]
    return "\n".join(lines) + "\n", expected


def test_the_report_has_every_problem_of_each_row_under_its_line(rt):
    text, expected = _file()
    for dry_run in (True, False):
        report = import_centres(rt.sessions, text, rt.gazetteer, dry_run=dry_run)
        got = [(line, why) for line, _name, why in report.rejected]
        assert [line for line, _ in got] == [line for line, _ in expected]
        assert all(why.startswith(prefix) for (_l, why), (_l2, prefix) in zip(got, expected, strict=True)), got
        assert report.inserted == len(ROWS) + 1
        assert report.rejected_rows == len(ROWS) + 1 and report.rejected_lines == [3, 5, 7, 9]


def test_the_command_prints_every_problem_by_line(seeded, settings, tmp_path, monkeypatch):
    text, expected = _file()
    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "centres.csv"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["centres", "import", "--dry-run", str(path)])
    assert result.exit_code == 1
    assert f"rejected {len(ROWS) + 1}" in result.output
    printed = [line for line in result.output.splitlines() if line.startswith("  rejected line ")]
    assert len(printed) == len(expected)
    for shown, (line, prefix) in zip(printed, expected, strict=True):
        assert shown.startswith(f"  rejected line {line}: ") and prefix in shown, shown
