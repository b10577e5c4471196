"""The benchmark tables in ``docs/benchmarks.md``, made from the records the runs left.

Every bench script ends by writing its figures to ``bench/results/<script>-<UTC time>.json``
(``bench/harness.record``). This rewrites what stands between each pair of markers

    <!-- bench:ussd -->
    … a generated table …
    <!-- /bench:ussd -->

with a table of that script's records, and leaves everything outside the markers as it is.
Runs of the same code (commit plus uncommitted changes), options, database and Redis are one
group. A table shows the latest groups (4, or ``groups=N`` in the opening marker: ``<!--
bench:ussd groups=6 -->``), oldest first. Of a group, its latest 3 runs make one row per label
(scripts such as ``servers`` report several) holding each figure's median — every run's value
beside the median for the headline figures, oldest first; counts of errors are summed — and a
group of 1 or 2 runs makes a row per run.

    .venv/bin/python bench/tables.py            # rewrite the tables (make bench-docs)
    .venv/bin/python bench/tables.py --check    # exit 1 when the docs differ from the records

A record that lacks a figure its table shows is an error naming the file: change the column
here when a script's record changes.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import re
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
RESULTS = Path(__file__).resolve().parent / "results"
GROUPS = 4  # groups a table shows unless its marker says groups=N
RUNS = 3  # a group's latest runs that make its medians
TOTALS = {"errors", "ussd_errors", "sms_errors", "missing", "twice"}  # summed over a group's runs, not medians
MARKER = re.compile(r"(?P<open><!-- bench:(?P<name>[\w-]+)(?P<args>(?: [\w-]+=[^\s>]+)*) -->\n)"
                    r"(?P<body>.*?)(?P<close><!-- /bench:(?P=name) -->)", re.DOTALL)
DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


class RecordError(Exception):
    """A record cannot be read or lacks a figure its table shows (the message names the file)."""


# --- columns -----------------------------------------------------------------------------------

def _fmt(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    return format(value, spec)


@dataclass(frozen=True)
class Column:
    """One column of a script's table: its header, and how a row's figures show in it. A
    ``spread`` column's median cell also lists every run's value; a ``text`` column is set left."""

    header: str
    show: Callable[[dict], str]
    spread: bool = False
    text: bool = False


def fig(header: str, key: str, spec: str, spread: bool = False) -> Column:
    return Column(header, lambda r: _fmt(r[key], spec), spread)


def figs(header: str, keys: tuple[str, ...], spec: str, sep: str = " / ") -> Column:
    """Several figures in one cell: ``a / b``, or ``a (b)`` with ``sep`` '()'."""
    if sep == "()":
        return Column(header, lambda r: f"{_fmt(r[keys[0]], spec)} ({_fmt(r[keys[1]], spec)})")
    return Column(header, lambda r: sep.join(_fmt(r[k], spec) for k in keys))


@dataclass(frozen=True)
class Spec:
    """A script's table: what its rows' labels are called (None: one row per run) and its columns."""

    columns: tuple[Column, ...]
    label: str | None = None


SPECS: dict[str, Spec] = {
    "resolve": Spec(label="measure", columns=(
        fig("resolutions/s", "per_s", ",.0f", spread=True),
        Column("goal ≥ 20,000/s", lambda r: "meets" if r["per_s"] >= 20_000 else "**below**"),
    )),
    "ussd": Spec(columns=(
        fig("journeys ÷ bare (req/s)", "ratio", ".2f", spread=True),
        fig("p99 × bare's", "p99_ratio", ".2f", spread=True),
        fig("server + Redis CPU per hop ÷ bare's", "cpu_ratio", ".2f", spread=True),
        figs("req/s (bare's)", ("rps", "bare_rps"), ".0f", "()"),
        figs("p99 ms (bare's)", ("p99_ms", "bare_p99_ms"), ".1f", "()"),
        figs("CPU µs per hop (bare's per request)", ("cpu_us", "bare_cpu_us"), ".0f", "()"),
        fig("errors", "errors", "d"),
    )),
    "sms": Spec(columns=(
        fig("inbound webhook ÷ bare", "in_ratio", ".3f", spread=True),
        figs("inbound req/s (bare's)", ("in_rps", "in_bare_rps"), ".0f", "()"),
        figs("inbound p99 ms (bare's)", ("in_p99_ms", "in_bare_p99_ms"), ".1f", "()"),
        fig("outbound pipeline ÷ raw", "out_ratio", ".2f", spread=True),
        figs("outbound msg/s (raw's)", ("out_msg_s", "out_raw_msg_s"), ",.0f", "()"),
        fig("checks pass", "checks", ""),
    )),
    "sms-inbound": Spec(columns=(
        Column("served by", lambda r: r["served"], text=True),
        fig("webhook ÷ bare", "in_ratio", ".3f", spread=True),
        fig("p99 × bare's", "in_p99_ratio", ".2f", spread=True),
        figs("req/s (bare's)", ("in_rps", "in_bare_rps"), ".0f", "()"),
        figs("p99 ms (bare's)", ("in_p99_ms", "in_bare_p99_ms"), ".1f", "()"),
        fig("checks pass", "checks", ""),
    )),
    "broadcast": Spec(columns=(
        fig("pipeline ÷ raw", "ratio", ".2f", spread=True),
        figs("pipeline s (raw's)", ("pipe_s", "raw_s"), ".2f", "()"),
        figs("msg/s (raw's)", ("msg_s", "raw_msg_s"), ",.0f", "()"),
        fig("the call that starts it, ms", "start_call_ms", ".0f"),
        fig("fan-out done, s", "fan_out_s", ".1f"),
        fig("each number once", "exactly_once", ""),
    )),
    "analytics": Spec(columns=(
        fig("slowest cold answer, s", "slowest_s", ".3f", spread=True),
        Column("which", lambda r: f"`{r['slowest']}`", text=True),
        fig("median cold answer, s", "median_s", ".3f"),
        fig("answers timed", "answers", ".0f"),
        fig("every one < 1 s", "met", ""),
    )),
    "storm": Spec(columns=(
        figs("USSD p50 / p99 ms", ("ussd_p50_ms", "ussd_p99_ms"), ".1f"),
        fig("USSD p99 ms", "ussd_p99_ms", ".1f", spread=True),
        figs("SMS → reply at the fake, p50 / p99 s", ("reply_p50_s", "reply_p99_s"), ".2f"),
        figs("broadcast before / during / after, per s", ("before", "during", "after"), ".0f"),
        fig("back to rate after, s", "back_s", ".0f", spread=True),
        figs("errors USSD / SMS; replies missing; seen twice", ("ussd_errors", "sms_errors", "missing", "twice"),
             "d", " / "),
    )),
    "replies": Spec(columns=(
        figs("JOIN → reply p50 / p99 s", ("p50_s", "p99_s"), ".1f"),
        figs("first JOIN → last reply s (floor)", ("last_s", "floor_s"), ".1f", "()"),
        fig("× floor", "x_floor", ".2f", spread=True),
        figs("errors / missing / twice", ("errors", "missing", "twice"), "d"),
        fig("broadcast sent meanwhile", "broadcast_sent", ",d"),
    )),
    "servers": Spec(label="server", columns=(
        fig("journeys req/s", "ussd_rps", ".0f"),
        fig("÷ bare", "ussd_ratio", ".2f", spread=True),
        fig("p99 ms", "ussd_p99_ms", ".1f"),
        fig("CPU µs/hop", "ussd_cpu_us", ".0f"),
        fig("SMS webhook req/s", "sms_rps", ".0f"),
        fig("÷ bare", "sms_ratio", ".2f", spread=True),
        fig("p99 ms", "sms_p99_ms", ".1f"),
        fig("CPU µs/SMS", "sms_cpu_us", ".0f"),
        fig("errors", "errors", "d"),
    )),
}


# --- records -----------------------------------------------------------------------------------

def load_records(folder: Path) -> dict[str, list[dict]]:
    """Every record in ``folder`` by script, oldest first (``_file`` holds its name)."""
    out: dict[str, list[dict]] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text())
            script = data["script"]
        except (ValueError, KeyError, TypeError) as exc:
            raise RecordError(f"{path.name}: not a bench record ({exc})") from None
        data["_file"] = path.name
        out.setdefault(script, []).append(data)
    for records in out.values():
        records.sort(key=lambda r: (r["date_utc"], r["_file"]))
    return out


def group_key(r: dict) -> tuple:
    return (r["commit"], json.dumps(r["options"], sort_keys=True), r["database"], r.get("redis", "embedded"))


def latest_groups(records: list[dict], n: int) -> list[list[dict]]:
    """The ``n`` groups run most recently, each its latest ``RUNS`` runs, oldest group first."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault(group_key(r), []).append(r)
    chosen = sorted(groups.values(), key=lambda g: g[-1]["date_utc"])[-n:] if n > 0 else []
    return sorted((g[-RUNS:] for g in chosen), key=lambda g: g[0]["date_utc"])


def aggregate(key: str, values: list):
    """A figure over a group's runs: median (None, a run without the figure, counts as the worst),
    sum for counts of errors, all() for checks, the latest for text."""
    if all(v is None for v in values):
        return None
    if all(isinstance(v, bool) for v in values):
        return all(values)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) or v is None for v in values):
        if key in TOTALS:
            return sum(v for v in values if v is not None)
        return statistics.median(math.inf if v is None else v for v in values)
    return values[-1]


# --- rendering ---------------------------------------------------------------------------------

def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _when(runs: list[dict]) -> str:
    """From the first run's start to the last run's end, and the 1-minute load averages taken then."""
    first, last = runs[0].get("started_utc", runs[0]["date_utc"]), runs[-1]["date_utc"]
    day, span = first[:10], first[11:16]
    if last[:16] != first[:16]:
        span += "–" + (last[11:16] if last[:10] == day else last[:16].replace("T", " "))
    if len(runs) == 1:
        return f"{day} {span} (load {runs[0]['load_before'][0]:.1f} → {runs[0]['load_after'][0]:.1f})"
    loads = [x for r in runs for x in (r["load_before"][0], r["load_after"][0])]
    return f"{day} {span}, median of {len(runs)} (load {min(loads):.1f}–{max(loads):.1f})"


def _setup(r: dict) -> str:
    options = " ".join(r["argv"]) or "defaults"
    parts = [f"`{r['commit'][:7]}{'+' + r['commit'].split('+', 1)[1] if '+' in r['commit'] else ''}`",
             f"`{options}`" if r["argv"] else options, DATABASES.get(r["database"], r["database"])]
    if r.get("redis") == "REDIS_URL":
        parts.append("REDIS_URL")
    return " · ".join(parts)


def _rows_by_label(record: dict, spec: Spec) -> dict[str, dict]:
    if spec.label is None:
        return {"": record["rows"][0]}
    return {row["label"]: row for row in record["rows"]}


def render(name: str, records: list[dict], groups: int = GROUPS) -> str:
    """The markdown between ``name``'s markers: its table and a line naming the records used."""
    spec = SPECS[name]
    chosen = latest_groups(records, groups)
    if not chosen:
        return (f"_No records yet: `.venv/bin/python bench/{name}.py` writes one, "
                "then `make bench-docs` makes this table._\n")
    head = ["runs (UTC; load average)", "code · options · database"]
    head += [spec.label] if spec.label else []
    head += [c.header for c in spec.columns]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] * (len(head) - len(spec.columns))
                            + ["---" if c.text else "---:" for c in spec.columns]) + "|"]
    for runs in chosen:
        try:
            per_run = [_rows_by_label(r, spec) for r in runs]
            labels = list(dict.fromkeys(label for rows in per_run for label in rows))
            if len(runs) < RUNS:
                for r, rows in zip(runs, per_run, strict=True):
                    for label, row in rows.items():
                        lines.append(_line([_when([r]), _setup(r)], spec, label, row, None))
            else:
                for label in labels:
                    rows = [rows[label] for rows in per_run if label in rows]
                    keys = list(dict.fromkeys(k for row in rows for k in row))
                    median = {k: aggregate(k, [row.get(k) for row in rows]) for k in keys}
                    lines.append(_line([_when(runs), _setup(runs[-1])], spec, label, median, rows))
        except (KeyError, IndexError) as exc:
            raise RecordError(f"{', '.join(r['_file'] for r in runs)}: no figure {exc} for the {name} table") from None
    files = [r["_file"] for runs in chosen for r in runs]
    span = files[0] if len(files) == 1 else f"{files[0]} … {files[-1]}"
    lines += ["", f"_Made by `bench/tables.py` from {len(files)} of {len(records)} records in "
                  f"`bench/results/` ({span})._"]
    return "\n".join(lines) + "\n"


def _line(lead: list[str], spec: Spec, label: str, row: dict, runs: list[dict] | None) -> str:
    cells = list(lead) + ([label] if spec.label else [])
    for c in spec.columns:
        text = c.show(row)
        if runs is not None and c.spread:
            text += " (" + " / ".join(c.show(r) for r in runs) + ")"
        cells.append(text)
    return "| " + " | ".join(_cell(x) for x in cells) + " |"


def rewrite(text: str, records: dict[str, list[dict]]) -> str:
    """``text`` with every marked table made again from ``records``; the rest unchanged."""
    def one(m: re.Match) -> str:
        name = m["name"]
        if name not in SPECS:
            raise RecordError(f"docs marker bench:{name}: no such table (known: {', '.join(SPECS)})")
        args = dict(a.split("=", 1) for a in m["args"].split())
        body = render(name, records.get(name, []), int(args.get("groups", GROUPS)))
        return f"{m['open']}\n{body}\n{m['close']}"

    return MARKER.sub(one, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the docs differ from the records")
    parser.add_argument("--docs", type=Path, default=DOCS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    try:
        records = load_records(args.results)
        text = args.docs.read_text()
        new = rewrite(text, records)
    except RecordError as exc:
        print(f"bench/tables.py: {exc}", file=sys.stderr)
        return 2
    marked = {m["name"] for m in MARKER.finditer(text)}
    for name in sorted(set(records) & set(SPECS) - marked):
        print(f"bench/tables.py: {len(records[name])} {name} records, but no <!-- bench:{name} --> in {args.docs}",
              file=sys.stderr)
    if args.check:
        if new == text:
            return 0
        diff = difflib.unified_diff(text.splitlines(), new.splitlines(), str(args.docs), "from the records",
                                    lineterm="", n=0)
        print("\n".join(list(diff)[:40]))
        print(f"{args.docs} differs from the records: run `make bench-docs`", file=sys.stderr)
        return 1
    if new != text:
        args.docs.write_text(new)
        print(f"{args.docs}: tables made again from {sum(len(v) for v in records.values())} records")
    else:
        print(f"{args.docs}: tables already match the records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
