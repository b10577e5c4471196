"""Write the task table of ``docs/staff.md`` from the records the browser task tests left
(``make staff-guide`` runs them, then this): ``python -m tests.staff_guide``.

The table sits between two markers in the guide; everything else in the guide is left as it
is. A task's row gives its clicks and seconds at each width, from the newest record."""

from __future__ import annotations

import json
import sys

from tests.staff_tasks import RECORDS, ROOT, WIDTHS

GUIDE = ROOT / "docs" / "staff.md"
BEGIN = "<!-- tasks: written by `make staff-guide` (tests/staff_guide.py); do not edit by hand -->"
END = "<!-- /tasks -->"
ROLES = ("clerk", "approver", "admin")


def table(records: list[dict]) -> str:
    """The Markdown table: a row per task (clerk's first, then the approver's, the admin's),
    clicks and seconds per width; a width the task was not recorded at shows a dash."""
    newest: dict[tuple[str, str], dict[int, dict]] = {}
    for record in records:
        newest.setdefault((record["role"], record["task"]), {})[record["width"]] = record
    head = ["who", "task"] + [f"{w} px: clicks / seconds" for w in WIDTHS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * len(WIDTHS)]
    order = sorted(newest, key=lambda k: (ROLES.index(k[0]) if k[0] in ROLES else len(ROLES), k[1]))
    for role, name in order:
        cells = []
        for width in WIDTHS:
            r = newest[(role, name)].get(width)
            cells.append(f"{r['clicks']} / {r['seconds']:.1f}" if r else "–")
        lines.append(f"| {role} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rewrite(guide: str, records: list[dict]) -> str:
    """``guide`` with the text between the markers replaced by the table (the markers are
    added at the end when the guide has none yet)."""
    block = f"{BEGIN}\n{table(records)}\n{END}"
    if BEGIN in guide and END in guide:
        before, rest = guide.split(BEGIN, 1)
        return before + block + rest.split(END, 1)[1]
    return guide.rstrip("\n") + "\n\n" + block + "\n"


def main() -> int:
    if not RECORDS.exists():
        print(f"no task records in {RECORDS}: run the browser task tests first", file=sys.stderr)
        return 1
    records = [json.loads(line) for line in RECORDS.read_text(encoding="utf-8").splitlines() if line.strip()]
    GUIDE.write_text(rewrite(GUIDE.read_text(encoding="utf-8"), records), encoding="utf-8")
    print(f"{GUIDE.relative_to(ROOT)}: {len({(r['role'], r['task']) for r in records})} tasks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
