"""Analytics of citizens' questions: per centre, questions and complaints received in the
period, answered, the median working hours to the first answer and the share answered within
the promise (2 working days) among those whose promise has come; counts only, no text; a
clerk sees their centres only. Times are injected (Easter 2026: Good Friday and Family Day)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from gateway.clock import SAST, FrozenClock
from gateway.dialogue import questions as records
from gateway.directory.centre_csv import import_centres
from gateway.staff import analytics, audit, question_figures
from gateway.staff import questions as staff_questions
from gateway.store.models import Centre

CSV = "name,province,town\nAlpha Thusong,Gauteng,Soweto\nBeta Thusong,Gauteng,Soweto\n"
TEXT = "Where do I renew my ID?"


def sast(*args) -> datetime:
    return datetime(*args, tzinfo=SAST).astimezone(UTC)


NOW = sast(2026, 4, 7, 10, 0)  # Tuesday after Easter Monday


@pytest.fixture
def centres(rt, monkeypatch) -> tuple[int, int]:
    monkeypatch.setattr(rt, "clock", FrozenClock(NOW))
    assert not import_centres(rt.sessions, CSV, rt.gazetteer).rejected
    with rt.sessions() as s:
        ids = dict(s.execute(select(Centre.name, Centre.id)).all())
    return ids["Alpha Thusong"], ids["Beta Thusong"]


def ask(rt, centre_id, kind: str, at: datetime, *answers: datetime) -> str:
    ref = records.open_thread(rt, f"+2782{at:%d%H%M}00", kind, TEXT, "en", "sms", now=at).thread.ref
    if centre_id is not None:
        staff_questions.transfer(rt, audit.CLI, ref, centre_id, now=at)
    for moment in answers:
        staff_questions.reply(rt, audit.CLI, ref, "Bring your old ID.", now=moment)
    return ref


@pytest.fixture
def asked(rt, centres):
    alpha, beta = centres
    ask(rt, alpha, "ask", sast(2026, 4, 2, 16, 0), sast(2026, 4, 7, 9, 0))  # 1.5 h over Easter: in time
    ask(rt, alpha, "complain", sast(2026, 3, 30, 8, 0), sast(2026, 4, 2, 12, 0))  # 29.5 h: late
    ask(rt, alpha, "ask", sast(2026, 4, 7, 8, 30))  # within its time: neither way
    ask(rt, alpha, "ask", sast(2026, 3, 30, 9, 0))  # never answered, past its promise: late
    ask(rt, beta, "ask", sast(2026, 4, 2, 10, 0), sast(2026, 4, 2, 11, 0), sast(2026, 4, 7, 9, 30))  # first: 1 h
    ask(rt, None, "complain", sast(2026, 4, 6, 9, 0))  # Family Day: 2 working hours old
    return alpha, beta


def rows(rt, days: int, scope=None) -> list[list]:
    return analytics.report(rt, days, scope, only="questions")[0].rows


def test_received_median_first_answer_and_share_within_the_promise(rt, asked):
    assert rows(rt, 30) == [["Alpha Thusong", 3, 1, 2, 15.5, 33],
                            ["Beta Thusong", 1, 0, 1, 1.0, 100],
                            ["Unassigned", 0, 1, 0, None, None]]
    assert rows(rt, 7) == [["Alpha Thusong", 2, 0, 1, 1.5, 100],  # 30 March is before the week
                           ["Beta Thusong", 1, 0, 1, 1.0, 100],
                           ["Unassigned", 0, 1, 0, None, None]]
    chart = analytics.report(rt, 30, None, only="questions")[0].chart
    assert chart["data"]["labels"] == ["Alpha Thusong", "Beta Thusong", "Unassigned"]
    assert [d["data"] for d in chart["data"]["datasets"]] == [[3, 1, 0], [1, 0, 1], [1, 1, 0]]


def test_the_totals_count_every_centre_and_the_chart_sums_the_others(rt, asked, monkeypatch):
    # The median and the share are of every question together, not of the centres' figures.
    assert analytics.report(rt, 30, None, only="questions")[0].totals == [["All centres", 4, 2, 3, 1.5, 50]]
    monkeypatch.setattr(question_figures, "TOP", 1)
    figure = analytics.report(rt, 30, None, only="questions")[0]
    assert figure.chart["data"]["labels"] == ["Alpha Thusong", "Other centres"]
    assert [d["data"] for d in figure.chart["data"]["datasets"]] == [[3, 1], [1, 1], [1, 1]]
    assert len(figure.rows) == 3  # the table keeps every centre


def test_a_clerk_sees_their_centres_questions_only(rt, asked):
    alpha, beta = asked
    assert rows(rt, 30, frozenset({beta})) == [["Beta Thusong", 1, 0, 1, 1.0, 100]]


def test_the_csv_holds_counts_and_no_text(rt, asked, client, auth):
    auth.as_role("admin")
    resp = client.get("/staff/analytics/questions.csv?days=30")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    text = resp.get_data(as_text=True)
    assert "renew" not in text and "old ID" not in text and "+27" not in text
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][0] == "Centre" and table[1] == ["Alpha Thusong", "3", "1", "2", "15.5", "33"]
