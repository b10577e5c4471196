"""The analytics page a manager can act on, read as HTML over a week of demo usage: screens in
words, failure reasons in the broadcast page's words (page and CSV), a totals foot on every
table counted over every row, long tables paged by the server (each on its own, the others
kept), scroll regions reachable by keyboard, every chart's series in colours of their own,
hops on their own axis, and a page much smaller than before."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser

import pytest

from gateway.staff import analytics, centre_figures
from gateway.staff.accounts import add_staff
from gateway.staff.figures import OTHERS_COLOUR, colour
from gateway.usage import demo
from gateway.web.staff import analytics as page_module
from gateway.web.staff.broadcast_text import REASONS, plain_reason
from gateway.web.staff.sa_words import cell
from menus.screen_names import SCREENS
from tests.conftest import PASSWORD, Auth, clean_runtime, seed_centres


class Tables(HTMLParser):
    """Each table's body and foot rows (cell texts) by its data-testid; the canvases' specs."""

    def __init__(self, html: str):
        super().__init__()
        self.body: dict[str, list[list[str]]] = {}
        self.foot: dict[str, list[list[str]]] = {}
        self.charts: list[dict] = []
        self.regions: list[dict] = []
        self._table = self._part = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("data-testid", "").removeprefix("table-")
        elif tag in ("tbody", "tfoot") and self._table:
            self._part = self.body if tag == "tbody" else self.foot
            self._part.setdefault(self._table, [])
        elif tag == "tr" and self._part is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "canvas":
            self.charts.append(json.loads(a["data-chart"]))
        elif tag == "div" and "table-box" in a.get("class", ""):
            self.regions.append(a)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._part is not None:
            self._part[self._table].append(self._row)
            self._row = None
        elif tag in ("tbody", "tfoot"):
            self._part = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def week_runtime(runtime):
    """A week of demo usage over the seed centres and an admin, written once for the module:
    every test here only reads it (the seed took a second or more per test). Another module's
    test on this worker cleans the database, so pytest sets this up again when it comes back
    to this module (a module fixture is torn down when the next test is in another module)."""
    rt = seed_centres(clean_runtime(runtime))
    demo.seed(rt, days=7)
    add_staff(rt.sessions, "admin@example.org", "Admin", "admin", PASSWORD, ())
    return rt


@pytest.fixture
def week(week_runtime):
    """A client logged in as the admin, over the module's week (Redis emptied first, as ``rt``
    does: login throttles and sessions start afresh)."""
    from gateway.web import create_app

    week_runtime.redis.flushdb()
    app = create_app(runtime=week_runtime)
    app.config["TESTING"] = True
    client = app.test_client()
    assert Auth(client, week_runtime).login("admin@example.org").status_code == 302
    return client


def _page(client, query: str = "days=7") -> tuple[str, Tables]:
    resp = client.get(f"/staff/analytics?{query}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    return html, Tables(html)


def _csv(client, key: str, days: int = 7) -> list[list[str]]:
    return list(csv.reader(io.StringIO(client.get(f"/staff/analytics/{key}.csv?days={days}").get_data(as_text=True))))


def _n(text: str) -> float:
    return float(text.replace(" ", "").replace("R", "") or 0)


def test_the_funnel_names_screens_in_words_and_marks_answers(week):
    html, t = _page(week)
    funnel = t.body["funnel"]
    words = {s.words for s in SCREENS.values()}
    assert funnel and all(row[0] in words for row in funnel), [r[0] for r in funnel]
    assert not re.search(r"<td[^>]*>(centre_details|rate_pick|find_place)</td>", html)
    details = next(r for r in funnel if r[0] == "A centre's hours and address")
    assert details[5] == "answer" and 0 < _n(details[4]) <= _n(details[2]) < 100
    main = funnel[0]
    assert main[0] == "Main menu" and main[2] == "100" and main[5] == "gave up"
    foot = {r[0]: r for r in t.foot["funnel"]}
    assert list(foot) == ["Ended on an answer", "Closed by the service", "Gave up", "All sessions"]
    ends = [_n(foot[k][3]) for k in ("Ended on an answer", "Closed by the service", "Gave up")]
    assert sum(ends) == _n(foot["All sessions"][3]) == _n(main[1])


def test_failure_reasons_are_in_the_broadcast_pages_words_on_the_page_and_in_the_csv(week):
    html, t = _page(week)
    assert "InsufficientCredit" not in html and "DeliveryFailure" not in html
    shown = {r[0] for r in t.body["sms_failures"]}
    assert REASONS["InsufficientCredit"] in shown
    assert shown == {plain_reason(code) for code in demo.FAIL_REASONS}  # one function, no second table
    assert {r[0] for r in _csv(week, "sms_failures")[1:]} == shown


def test_every_table_has_totals_over_every_row_not_the_page(week):
    _html, t = _page(week)
    shown = {k for k in t.body}
    assert shown == set(analytics.keys()) and set(t.foot) == shown
    sms = t.foot["sms"][0]
    assert sms[0] == "All days" and sms[-1].startswith("R")
    every = _csv(week, "sms")[1:]
    assert _n(sms[1]) == sum(int(r[1]) for r in every)
    assert abs(_n(sms[-1]) - sum(float(r[-1]) for r in every)) < 0.01
    feedback = _csv(week, "feedback")[1:]
    assert len(feedback) > page_module.PAGE_ROWS  # paged: the foot counts the rows of every page
    assert _n(t.foot["feedback"][0][2]) == sum(int(r[2]) for r in feedback)


def test_long_tables_are_paged_by_the_server_each_on_its_own(week):
    every = _csv(week, "feedback")[1:]
    _html, first = _page(week)
    assert len(first.body["feedback"]) == page_module.PAGE_ROWS
    assert first.body["feedback"][0][0] == every[0][0]
    html, second = _page(week, "days=7&feedback_page=2&subscribers_page=2")
    centre, period, ratings, _average = every[page_module.PAGE_ROWS]
    assert second.body["feedback"][0][:3] == [centre, cell(period, "Period"), ratings]
    assert second.foot["feedback"] == first.foot["feedback"]
    assert second.body["sessions"] == first.body["sessions"]  # the other tables stay on their page
    # the links to feedback's other pages keep the period and subscribers' page
    prev = re.search(r'<a href="([^"]*)" rel="prev"', html[html.index('data-testid="pager-feedback"'):]).group(1)
    assert "feedback_page=1" in prev and "subscribers_page=2" in prev and "days=7" in prev
    last = -(-len(every) // page_module.PAGE_ROWS)
    _html, beyond = _page(week, "days=7&feedback_page=999")
    assert beyond.body["feedback"][-1][0] == every[-1][0]
    assert len(beyond.body["feedback"]) == len(every) - (last - 1) * page_module.PAGE_ROWS


def test_table_scroll_regions_are_keyboard_focusable_and_named(week):
    _html, t = _page(week)
    assert len(t.regions) == len(analytics.keys())
    for region in t.regions:
        assert region.get("tabindex") == "0" and region.get("role") == "region"
        assert region.get("aria-label", "").endswith(": table")


def test_no_two_series_of_a_chart_share_a_colour(week):
    _html, t = _page(week, "days=30")
    for spec in t.charts:
        colours = [d["backgroundColor"] for d in spec["data"]["datasets"]]
        assert len(colours) == len(set(colours)), spec["data"]["datasets"]
    assert len({colour(i) for i in range(500)} | {OTHERS_COLOUR}) == 501
    feedback = next(s for s in t.charts if s["data"]["datasets"] and "Other centres" in
                    [d["label"] for d in s["data"]["datasets"]] and s["type"] == "line")
    assert len(feedback["data"]["datasets"]) == centre_figures.SERIES + 1


def test_the_charts_write_days_and_months_in_words(week):
    """The axes say ``Mon 7 Dec 2026`` and ``Dec 2026`` as the tables do, never ``2026-12-07``."""
    labels = [x for spec in _page(week, "days=30")[1].charts for x in spec["data"]["labels"]]
    assert not [x for x in labels if re.fullmatch(r"\d{4}-\d\d(-\d\d)?", x)], labels
    assert any(re.fullmatch(r"\w{3} \d{1,2} \w{3} \d{4}", x) for x in labels), labels
    csv_days = [row[0] for row in _csv(week, "sessions", 30)[1:]]
    assert csv_days and all(re.fullmatch(r"\d{4}-\d\d-\d\d", d) for d in csv_days)  # the CSV keeps ISO


def test_hops_have_an_axis_of_their_own(week):
    _html, t = _page(week)
    sessions = t.charts[0]
    by_label = {d["label"]: d.get("yAxisID", "y") for d in sessions["data"]["datasets"]}
    assert by_label == {"Sessions": "y", "Unique callers": "y", "Median hops": "hops", "p95 hops": "hops"}
    assert set(sessions["axes"]) == {"y", "hops"}


def test_the_month_page_is_small(week):
    html, _t = _page(week, "days=30")
    assert len(html.encode()) < 120_000, len(html.encode())
