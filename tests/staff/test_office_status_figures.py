"""Analytics of offices' status reports: per centre and office, the SAST days in the period with
at least one ``down`` and the reports in total, with an injected clock; a clerk sees their own
centres only; the CSV keeps a centre's name from running as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.clock import FrozenClock
from gateway.dialogue import office_status
from gateway.directory.centre_csv import import_centres
from gateway.staff import analytics, status_figures
from gateway.store.models import Centre

NOW = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # 10:00 SAST, Monday 9 March
CSV = "name,province,town,offices\n=Alpha Thusong,Gauteng,Soweto,HA;SASSA\nBeta Thusong,Gauteng,Soweto,POST\n"


@pytest.fixture
def centres(rt, monkeypatch) -> tuple[int, int]:
    monkeypatch.setattr(rt, "clock", FrozenClock(NOW))
    assert not import_centres(rt.sessions, CSV, rt.gazetteer).rejected
    with rt.sessions() as s:
        ids = dict(s.execute(select(Centre.name, Centre.id)).all())
    return ids["=Alpha Thusong"], ids["Beta Thusong"]


def report(rt, days: int = 7, scope=None) -> list[list]:
    return analytics.report(rt, days, scope, only="office_status")[0].rows


def status(rt, centre: int, office: str, state: str, at: datetime) -> None:
    office_status.record(rt, centre, office, state, staff_id=None, via="cli", now=at)


def test_days_with_down_are_sast_days_and_every_report_counts(rt, centres):
    alpha, beta = centres
    status(rt, alpha, "HA", "down", datetime(2026, 3, 5, 21, 30, tzinfo=UTC))  # 23:30 SAST Thursday
    status(rt, alpha, "HA", "down", datetime(2026, 3, 5, 22, 30, tzinfo=UTC))  # 00:30 SAST Friday, same UTC day
    status(rt, alpha, "HA", "up", datetime(2026, 3, 6, 9, 0, tzinfo=UTC))  # in UTC all three are on Thursday
    status(rt, alpha, "HA", "down", datetime(2026, 3, 5, 23, 0, tzinfo=UTC))  # 01:00 SAST Friday again: still 2 days
    status(rt, alpha, "SASSA", "slow", datetime(2026, 3, 6, 8, 0, tzinfo=UTC))
    status(rt, beta, "POST", "down", NOW - timedelta(minutes=5))  # today counts
    assert report(rt) == [["=Alpha Thusong", "HA", 2, 3, 4],
                          ["Beta Thusong", "POST", 1, 1, 1],
                          ["=Alpha Thusong", "SASSA", 0, 0, 1]]
    figure = analytics.report(rt, 7, None, only="office_status")[0]
    assert figure.chart["type"] == "bar" and figure.chart["stacked"]
    assert figure.chart["data"]["labels"] == ["=Alpha Thusong", "Beta Thusong"]
    assert {d["label"]: d["data"] for d in figure.chart["data"]["datasets"]} == {"HA": [2, 0], "POST": [0, 1]}
    assert figure.totals == [["All centres", "every office", 3, 4, 6]]


def test_the_chart_draws_the_top_centres_and_the_others_together(rt, centres, monkeypatch):
    alpha, beta = centres
    status(rt, alpha, "HA", "down", NOW)
    status(rt, alpha, "SASSA", "down", NOW)
    status(rt, beta, "POST", "down", NOW)
    monkeypatch.setattr(status_figures, "TOP", 1)
    figure = analytics.report(rt, 7, None, only="office_status")[0]
    assert figure.chart["data"]["labels"] == ["=Alpha Thusong", "Other centres"]
    assert {d["label"]: d["data"] for d in figure.chart["data"]["datasets"]} == {
        "HA": [1, 0], "POST": [0, 1], "SASSA": [1, 0]}
    assert len(figure.rows) == 3


def test_only_reports_in_the_period_count(rt, centres):
    alpha, _beta = centres
    first = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 00:00 SAST Tuesday 3 March: the 7-day period's start
    status(rt, alpha, "HA", "down", first - timedelta(seconds=1))  # Monday, SAST: outside
    status(rt, alpha, "HA", "down", first)
    assert report(rt) == [["=Alpha Thusong", "HA", 1, 1, 1]]
    assert report(rt, 30) == [["=Alpha Thusong", "HA", 2, 2, 2]]


def test_a_clerk_sees_their_centres_reports_only(rt, centres):
    alpha, beta = centres
    status(rt, alpha, "HA", "down", NOW)
    status(rt, beta, "POST", "down", NOW)
    assert [r[0] for r in report(rt, scope=frozenset({beta}))] == ["Beta Thusong"]
    assert report(rt, scope=frozenset()) == []


def test_the_csv_and_page_show_the_reports_a_clerk_may_see(rt, centres, client, auth):
    alpha, beta = centres
    status(rt, alpha, "HA", "down", NOW)
    status(rt, beta, "POST", "slow", NOW)
    auth.as_role("admin")
    resp = client.get("/staff/analytics/office_status.csv?days=7")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows == [["Centre", "Office", "Days with down", "Down reports", "Reports"],
                    ["'=Alpha Thusong", "HA", "1", "1", "1"], ["Beta Thusong", "POST", "0", "0", "1"]]
    auth.logout()
    auth.as_role("clerk", [beta])
    page = client.get("/staff/analytics?days=7").get_data(as_text=True)
    assert 'data-testid="figure-office_status"' in page and "Beta Thusong" in page and "Alpha" not in page
    rows = list(csv.reader(io.StringIO(client.get("/staff/analytics/office_status.csv?days=7").get_data(as_text=True))))
    assert rows[1:] == [["Beta Thusong", "POST", "0", "0", "1"]]
