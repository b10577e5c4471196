"""The staff guide's evidence: each browser task test records its clicks and seconds, and the
screenshots the guide shows, through one :func:`task` per task.

A task counts every click the person makes in the page (a listener on the document, so a
click on a link, a button or a label counts once, whoever's code handles it) and the seconds
from its start to its end (Chromium driven by Playwright: machine seconds, a floor for a
person). Each record is a JSON line in ``tests/artifacts/staff-tasks.jsonl``; ``make
staff-guide`` sets ``STAFF_GUIDE_DIR`` so the screenshots land in the guide's image folder
and then writes the table in ``docs/staff.md`` from the records (``python -m
tests.staff_guide``).
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
RECORDS = ARTIFACTS / "staff-tasks.jsonl"
WIDTHS = (1366, 390)

# Counted in the capture phase, before a page's own handler can stop the event or navigate,
# in the tab's session storage: written at once, so a click that submits a form or follows a
# link is never lost to the navigation it starts (as a message to the test process could be).
# It counts only while a task has set the count going.
_KEY = "__taskClicks"
_COUNTER = (f"document.addEventListener('click', () => {{ const n = sessionStorage.getItem('{_KEY}');"
            f" if (n !== null) sessionStorage.setItem('{_KEY}', String(Number(n) + 1)); }}, true);")


def guide_dir() -> Path | None:
    """Where the guide's screenshots go (``make staff-guide``), or None in a plain test run."""
    value = os.environ.get("STAFF_GUIDE_DIR")
    return Path(value) if value else None


def open_context(browser, width: int):
    """A context the size of a desktop (1366 px) or a clerk's phone (390 px, touch), its
    clicks counted while a :func:`task` runs in it (none before or after)."""
    phone = width < 500
    context = browser.new_context(viewport={"width": width, "height": 844 if phone else 900},
                                  has_touch=phone, is_mobile=phone)
    context.add_init_script(_COUNTER)
    return context


def screenshot(page, name: str, width: int, max_height: int | None = None) -> Path:
    """``name-width.png`` in tests/artifacts/, and in the guide's folder when it is built: the
    whole page, or its top ``max_height`` px when it is longer (a page of hundreds of rows
    would weigh megabytes in the guide)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}-{width}.png"
    clip = None
    if max_height is not None:
        height = page.evaluate("document.documentElement.scrollHeight")
        if height > max_height:
            clip = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": max_height}
    page.screenshot(path=str(path), full_page=True, clip=clip)
    target = guide_dir()
    if target is not None:
        target.mkdir(parents=True, exist_ok=True)
        (target / path.name).write_bytes(path.read_bytes())
    return path


@dataclass
class Task:
    """One task as a person does it: who, what, at which width; clicks counted as they happen."""

    role: str
    name: str
    width: int
    clicks: int = 0
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0


@contextmanager
def task(context, role: str, name: str, width: int):
    """Record the task done inside the ``with`` in the page already open in a context from
    :func:`open_context` (log in before it: signing in is not the task). Written only if it ends without an error (a
    failed task is the test's failure, not a row in the guide)."""
    for page in context.pages:
        page.evaluate(f"sessionStorage.setItem('{_KEY}', '0')")
    record = Task(role, name, width)
    yield record
    record.clicks = sum(page.evaluate(f"Number(sessionStorage.getItem('{_KEY}'))") for page in context.pages)
    for page in context.pages:
        page.evaluate(f"sessionStorage.removeItem('{_KEY}')")
    record.seconds = round(time.monotonic() - record.started, 1)
    ARTIFACTS.mkdir(exist_ok=True)
    with RECORDS.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"role": role, "task": name, "width": width, "clicks": record.clicks,
                              "seconds": record.seconds}) + "\n")
