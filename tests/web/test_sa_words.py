"""Times, money and counts on the dashboard are written the South African way on every page:
SAST and labelled, ``Mon 7 Dec 2026``, ``R1 234.50``, ``12 345``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from gateway.usage import demo
from gateway.web.staff.sa_words import cell, count, day, rand, sast


@pytest.mark.parametrize(("value", "written"), [
    (datetime(2026, 12, 7, 8, 0), "Mon 7 Dec 2026 10:00 SAST"),  # naive = UTC, as stored
    (datetime(2026, 12, 7, 22, 30, tzinfo=UTC), "Tue 8 Dec 2026 00:30 SAST"),  # the SAST day, not UTC's
    (None, ""),
])
def test_times_are_sast_and_labelled(value, written):
    assert sast(value) == written


def test_a_day_is_written_with_its_weekday_and_a_time_by_its_sast_day():
    assert day(date(2026, 12, 7)) == "Mon 7 Dec 2026"
    assert day(datetime(2026, 12, 7, 23, 0, tzinfo=UTC)) == "Tue 8 Dec 2026"


@pytest.mark.parametrize(("amount", "written"), [
    (1234.5, "R1 234.50"), (331.5, "R331.50"), (0, "R0.00"), (1234567.891, "R1 234 567.89"), (-12, "-R12.00")])
def test_money_is_rand_with_spaced_thousands_and_a_decimal_point(amount, written):
    assert rand(amount) == written


@pytest.mark.parametrize(("n", "written"), [(12345, "12 345"), (999, "999"), (1234.5, "1 234.5"), (0, "0")])
def test_counts_have_spaced_thousands(n, written):
    assert count(n) == written


def test_an_analytics_cell_is_money_under_a_rand_column_and_a_count_elsewhere():
    assert (cell(331.5, "Cost (R)"), cell(2990, "Sent"), cell("Soweto", "Centre"), cell(True, "x")) == (
        "R331.50", "2 990", "Soweto", True)


@pytest.mark.parametrize(("value", "column", "shown"), [
    ("2026-12-07", "Day", "Mon 7 Dec 2026"),
    ("2026-12-07", "Period", "Mon 7 Dec 2026"),
    ("2026-12", "Period", "Dec 2026"),
    ("2026-12-07", "Asked for", "2026-12-07"),  # what a citizen typed stays as typed
    ("whole period", "Period", "whole period"),
], ids=["day", "a day period", "a month period", "not a calendar column", "not a date"])
def test_an_analytics_day_or_month_is_in_words(value, column, shown):
    assert cell(value, column) == shown


def test_the_audit_log_is_in_sast_and_says_so(seeded, auth, client):
    auth.as_role("admin")
    page = client.get("/staff/audit").get_data(as_text=True)
    assert "When (SAST)" in page and "UTC" not in page
    assert re.search(r"<td>\w{3} \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d SAST</td>", page), page


def test_the_analytics_cost_column_is_in_rand(seeded, auth, client):
    demo.seed(seeded, days=7)
    auth.as_role("admin")
    page = client.get("/staff/analytics?days=7").get_data(as_text=True)
    costs = re.findall(r"<td[^>]*>(R[\d ]+\.\d\d)</td>", page)
    assert costs, "no cost in rand on the analytics page"
    assert not re.search(r"<td[^>]*>\d{4,}(\.\d+)?</td>", page), "a count without its thousands spaced"
