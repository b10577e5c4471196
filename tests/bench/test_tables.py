"""bench/tables.py: the docs' benchmark tables are made from the runs' records, never typed.

Small records written here, in a temporary folder; no benchmark runs. The figures each script
records are listed below on their own (not read from the renderer), so a table that stops
showing one of them fails :func:`test_every_recorded_figure_shows_in_its_table`.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench_module(name: str):
    """``bench/<name>.py`` (the bench folder is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tables = _bench_module("tables")

# What each script passes to bench/harness.record as its rows (one row; label where it has several).
FIGURES = {
    "resolve": {"label": "resolve, cached (as served)", "per_s": 412345.6},
    "ussd": {"ratio": 0.4812, "p99_ratio": 2.351, "cpu_ratio": 2.683, "rps": 1201.4, "bare_rps": 2496.2,
             "p99_ms": 18.23, "bare_p99_ms": 6.91, "cpu_us": 903.2, "bare_cpu_us": 336.6, "errors": 0},
    "sms": {"in_ratio": 0.2853, "in_rps": 1154.2, "in_bare_rps": 4045.1, "in_p99_ms": 21.4, "in_bare_p99_ms": 6.2,
            "out_ratio": 0.1312, "out_msg_s": 2501.7, "out_raw_msg_s": 19068.3, "checks": True},
    "sms-inbound": {"in_ratio": 0.6011, "in_rps": 1400.2, "in_bare_rps": 2330.5, "in_p99_ms": 14.2,
                    "in_bare_p99_ms": 8.1, "in_p99_ratio": 1.7531, "served": "thusong web ×2, threads 8",
                    "checks": True},
    "broadcast": {"ratio": 0.1013, "pipe_s": 11.9, "raw_s": 1.21, "msg_s": 8401.3, "raw_msg_s": 82644.6,
                  "start_call_ms": 6.2, "fan_out_s": 2.3, "exactly_once": True},
    "analytics": {"slowest_s": 0.4123, "slowest": "admin /staff/analytics?days=365", "median_s": 0.0821,
                  "answers": 31, "met": True},
    "storm": {"ussd_p50_ms": 3.2, "ussd_p99_ms": 11.5, "ussd_errors": 0, "reply_p50_s": 0.29, "reply_p99_s": 0.71,
              "missing": 0, "sms_errors": 0, "before": 200.1, "during": 77.2, "after": 199.6, "back_s": 1.0,
              "twice": 0},
    "replies": {"p50_s": 48.8, "p99_s": 106.3, "last_s": 166.9, "floor_s": 150.0, "x_floor": 1.113, "errors": 0,
                "missing": 0, "twice": 0, "broadcast_sent": 100},
    "servers": {"label": "granian ×2 (default)", "ussd_rps": 1502.3, "ussd_ratio": 0.6012, "ussd_p99_ms": 23.1,
                "ussd_cpu_us": 793.4, "sms_rps": 727.2, "sms_ratio": 0.3041, "sms_p99_ms": 57.7, "sms_cpu_us": 1305.2,
                "errors": 0},
}


def a_record(script: str, when: str = "2026-12-07T17:20:00+00:00", commit: str = "abcdef123456",
             argv: tuple[str, ...] = ("--quick",), database: str = "sqlite", **figures) -> dict:
    return {"script": script, "date_utc": when, "started_utc": when, "commit": commit,
            "load_before": [1.25, 1.0, 0.5], "load_after": [2.5, 1.5, 0.75], "cpus": 2, "argv": list(argv),
            "options": {"quick": "--quick" in argv}, "database": database, "redis": "embedded",
            "rows": [{**FIGURES[script], **figures}], "meta": {}}


def write(folder: Path, *records: dict) -> None:
    folder.mkdir(exist_ok=True)
    for n, r in enumerate(records):
        stamp = r["date_utc"][:19].replace("-", "").replace(":", "")
        (folder / f"{r['script']}-{stamp}-{n}.json").write_text(json.dumps(r))


DOC = """# Benchmarks

Prose before, kept as it is.

<!-- bench:ussd -->
typed by hand
<!-- /bench:ussd -->

Prose between | with a pipe.

<!-- bench:sms -->
<!-- /bench:sms -->

Prose after.
"""


def test_the_tables_are_made_between_the_markers_and_check_finds_a_typed_change(tmp_path):
    results, docs = tmp_path / "results", tmp_path / "benchmarks.md"
    write(results, a_record("ussd"), a_record("sms"))
    docs.write_text(DOC)
    assert tables.main(["--check", "--docs", str(docs), "--results", str(results)]) == 1

    assert tables.main(["--docs", str(docs), "--results", str(results)]) == 0
    text = docs.read_text()
    assert "typed by hand" not in text
    assert "| 2026-12-07 17:20 (load 1.2 → 2.5) | `abcdef1` · `--quick` · SQLite | 0.48 | 2.35 |" in text
    assert "| 0.285 |" in text
    outside = tables.MARKER.sub("", text)
    assert outside == tables.MARKER.sub("", DOC)  # the prose, untouched
    assert tables.main(["--check", "--docs", str(docs), "--results", str(results)]) == 0

    docs.write_text(text.replace("| 0.48 |", "| 0.58 |"))  # a figure typed over
    assert tables.main(["--check", "--docs", str(docs), "--results", str(results)]) == 1
    write(results, a_record("ussd", when="2026-12-07T17:40:00+00:00"))  # a new run, docs not made again
    docs.write_text(text)
    assert tables.main(["--check", "--docs", str(docs), "--results", str(results)]) == 1


def test_three_runs_of_the_same_code_and_options_show_their_median_and_each_run(tmp_path):
    runs = [a_record("ussd", when=f"2026-12-07T17:2{i}:00+00:00", ratio=r, errors=e)
            for i, (r, e) in enumerate([(0.41, 0), (0.62, 2), (0.47, 1)])]
    other = a_record("ussd", when="2026-12-07T17:30:00+00:00", commit="0123456789ab", ratio=0.60)
    longer = a_record("ussd", when="2026-12-07T17:31:00+00:00", argv=(), ratio=0.30)
    text = tables.render("ussd", [{**r, "_file": f"ussd-{n}.json"} for n, r in enumerate([*runs, other, longer])])
    rows = [line for line in text.splitlines() if line.startswith("| 2026")]
    assert len(rows) == 3, text  # the median row, and one row for each other group
    assert rows[0].startswith("| 2026-12-07 17:20–17:22, median of 3 (load 1.2–2.5) | `abcdef1` · `--quick`")
    assert "| 0.47 (0.41 / 0.62 / 0.47) |" in rows[0]
    assert rows[0].endswith("| 3 |")  # errors summed over the runs, not their median
    assert "`0123456`" in rows[1] and "| 0.60 |" in rows[1]
    assert "· defaults ·" in rows[2] and "| 0.30 |" in rows[2]
    assert "from 5 of 5 records" in text


def test_only_the_latest_groups_and_a_groups_latest_three_runs(tmp_path):
    records = [a_record("broadcast", when=f"2026-12-0{d}T10:00:00+00:00", commit=f"c{d}{'0' * 10}")
               for d in range(1, 7)]
    records += [a_record("broadcast", when=f"2026-12-06T11:0{i}:00+00:00", commit="c6" + "0" * 10, ratio=0.1 * i)
                for i in range(1, 4)]
    text = tables.render("broadcast", [{**r, "_file": f"b{n}.json"} for n, r in enumerate(records)], groups=2)
    assert "`c500000`" in text and "`c600000`" in text and "`c400000`" not in text
    assert "| 0.20 (0.10 / 0.20 / 0.30) |" in text  # the 10:00 run of c6 is the fourth: left out


def test_a_record_without_a_figure_its_table_shows_is_an_error_naming_the_file(tmp_path):
    bad = a_record("sms")
    del bad["rows"][0]["out_ratio"]
    write(tmp_path / "results", bad)
    (tmp_path / "benchmarks.md").write_text(DOC)
    assert tables.main(["--docs", str(tmp_path / "benchmarks.md"), "--results", str(tmp_path / "results")]) == 2
    with pytest.raises(tables.RecordError, match=r"sms-20261207T172000-0\.json: no figure 'out_ratio'"):
        tables.render("sms", tables.load_records(tmp_path / "results")["sms"])


def test_a_script_without_records_says_how_to_make_its_table():
    assert "bench/storm.py` writes one" in tables.render("storm", [])


def test_a_record_as_the_harness_writes_it_makes_a_table(tmp_path, monkeypatch):
    harness = _bench_module("harness")
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(sys, "argv", ["bench/broadcast.py", "--recipients", "10000"])
    figures = {**FIGURES["broadcast"], "fan_out_s": float("nan"), "pipe_s": 4.321987654}
    path = harness.record("broadcast", [figures], {"recipients": 10000, "workers": 2},
                          harness.database_kind("postgresql+psycopg://postgres@127.0.0.1/t"))

    def no_nan(word):
        raise AssertionError(f"{word} in a record: not JSON")

    data = json.loads(path.read_text(), parse_constant=no_nan)
    assert path.name.startswith("broadcast-") and data["script"] == "broadcast"
    assert data["database"] == "postgresql" and data["redis"] == "embedded"
    assert data["argv"] == ["--recipients", "10000"] and data["options"] == {"recipients": 10000, "workers": 2}
    assert data["rows"][0]["fan_out_s"] is None and data["rows"][0]["pipe_s"] == 4.32199
    assert len(data["load_before"]) == len(data["load_after"]) == 3 and data["commit"] != "unknown"
    assert data["started_utc"] <= data["date_utc"]
    text = tables.render("broadcast", tables.load_records(tmp_path)["broadcast"])
    assert "· `--recipients 10000` · PostgreSQL |" in text and "| – |" in text and "| 4.32 (1.21) |" in text
    assert harness.database_kind("") == harness.database_kind("sqlite:///x.db") == "sqlite"


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 7
    if isinstance(value, float):
        return value * 1.7 + 3.1
    if isinstance(value, str):
        return value + " x"
    return [_changed(v) for v in value]


def _every_figure_shows(record: dict) -> list[str]:
    """The figures (and run facts) of ``record`` whose change leaves its table as it was."""
    name = record["script"]
    base = tables.render(name, [{**record, "_file": "r.json"}])
    unread = []
    for key, value in record["rows"][0].items():
        changed = {**record, "rows": [{**record["rows"][0], key: _changed(value)}], "_file": "r.json"}
        if tables.render(name, [changed]) == base:
            unread.append(key)
    facts = {"date_utc": "2027-01-02T03:04:05+00:00", "commit": "9" + record["commit"], "argv": ["--other"],
             "database": "sqlite" if record["database"] == "postgresql" else "postgresql", "load_before": [42.0, 1, 1], "load_after": [43.0, 1, 1]}
    for key, value in facts.items():
        if tables.render(name, [{**record, key: value, "_file": "r.json"}]) == base:
            unread.append(key)
    return unread


@pytest.mark.parametrize("script", sorted(FIGURES))
def test_every_recorded_figure_shows_in_its_table(script):
    assert set(FIGURES) == set(tables.SPECS)
    assert _every_figure_shows(a_record(script)) == []


def test_every_figure_of_the_committed_records_shows_and_the_docs_match_them():
    """The records kept in bench/results: each figure they hold is in the docs' tables, and
    docs/benchmarks.md is what `make bench-docs` makes of them."""
    records = tables.load_records(tables.RESULTS) if tables.RESULTS.is_dir() else {}
    for name, runs in records.items():
        if name in tables.SPECS:
            assert _every_figure_shows(runs[-1]) == [], runs[-1]["_file"]
    assert tables.main(["--check"]) == 0, "docs/benchmarks.md differs from bench/results: run `make bench-docs`"
