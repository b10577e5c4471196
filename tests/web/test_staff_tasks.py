"""The staff guide's recorder counts the clicks a person makes while a task runs, and only
then, and writes one record per task; the guide's table is written from those records."""

from __future__ import annotations

import json

import pytest

from tests import staff_guide, staff_tasks

pytestmark = pytest.mark.slow
URL = "http://tasks.test/"
PAGE = "<button id=a>A</button><a id=b href='/next'>B</a><label><input id=c type=checkbox>C</label>"


def served(context):
    """A tiny site of its own origin (session storage needs one): every path is the page."""
    context.route("http://tasks.test/**", lambda route: route.fulfill(body=PAGE, content_type="text/html"))


def test_clicks_inside_a_task_are_counted_and_recorded(browser, tmp_path, monkeypatch):
    monkeypatch.setattr(staff_tasks, "ARTIFACTS", tmp_path)
    monkeypatch.setattr(staff_tasks, "RECORDS", tmp_path / "tasks.jsonl")
    context = staff_tasks.open_context(browser, 390)
    served(context)
    page = context.new_page()
    page.goto(URL)
    page.click("#a")  # before the task: signing in, say
    with staff_tasks.task(context, "clerk", "Press three things", 390) as done:
        page.click("#a")
        page.click("#b")  # a link: the count survives the navigation it starts
        page.wait_for_url("http://tasks.test/next")
        page.click("#c")
    page.click("#a")  # after it
    context.close()
    assert done.clicks == 3
    [record] = [json.loads(line) for line in (tmp_path / "tasks.jsonl").read_text().splitlines()]
    assert (record["role"], record["task"], record["width"], record["clicks"]) == ("clerk", "Press three things", 390, 3)


def test_a_task_that_fails_leaves_no_record(browser, tmp_path, monkeypatch):
    monkeypatch.setattr(staff_tasks, "RECORDS", tmp_path / "tasks.jsonl")
    context = staff_tasks.open_context(browser, 1366)
    served(context)
    context.new_page().goto(URL)
    with pytest.raises(AssertionError), staff_tasks.task(context, "admin", "Fail", 1366):
        raise AssertionError("the page did not show it")
    context.close()
    assert not (tmp_path / "tasks.jsonl").exists()


def test_the_guide_table_has_a_row_per_task_and_keeps_the_rest_of_the_guide():
    records = [{"role": "admin", "task": "Read the funnel", "width": 1366, "clicks": 2, "seconds": 1.24},
               {"role": "clerk", "task": "Change Saturday hours", "width": 390, "clicks": 5, "seconds": 3.0},
               {"role": "clerk", "task": "Change Saturday hours", "width": 390, "clicks": 4, "seconds": 2.5}]
    guide = f"# Guide\n\nBefore.\n\n{staff_guide.BEGIN}\nold\n{staff_guide.END}\n\nAfter.\n"
    written = staff_guide.rewrite(guide, records)
    assert written.startswith("# Guide\n\nBefore.\n\n") and written.endswith("\n\nAfter.\n")
    rows = [line for line in written.splitlines() if line.startswith("| clerk") or line.startswith("| admin")]
    assert rows == ["| clerk | Change Saturday hours | – | 4 / 2.5 |", "| admin | Read the funnel | 2 / 1.2 | – |"]
    assert staff_guide.rewrite(written, records) == written
