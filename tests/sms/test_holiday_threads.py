"""A web worker's threads share the public-holiday calendar (working time's ``OFFICE``, the bulk
schedule, the visit warnings): a thread asking about a year while another works that year out
gets the year's holidays, and two years worked out at once each keep their own."""

from __future__ import annotations

import threading
from datetime import date, datetime, time

import holidays

from gateway.clock import SAST
from gateway.sms.quiet_hours import WeeklySchedule
from gateway.sms.working_time import add_working_days

NEW_YEAR = date(2027, 1, 1)  # a Friday
RECONCILIATION = date(2027, 12, 16)  # a Thursday
WEEKDAYS = {day: (time(8), time(16, 30)) for day in range(5)}


class Pause:
    """Holds the first thread that reaches ``hook`` until released."""

    def __init__(self):
        self.armed, self.reached, self.release = True, threading.Event(), threading.Event()

    def hook(self) -> None:
        if self.armed and threading.current_thread() is not threading.main_thread():
            self.armed = False
            self.reached.set()
            assert self.release.wait(10)


def in_thread(work) -> tuple[threading.Thread, dict]:
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("answer", work()), daemon=True)
    thread.start()
    return thread, out


def test_a_year_being_worked_out_by_another_thread_still_has_its_holidays(monkeypatch):
    schedule, pause = WeeklySchedule(WEEKDAYS), Pause()
    real = holidays.HolidayBase._populate

    def populate_after_a_pause(self, year):
        pause.hook()  # the other thread is about to fill the year
        return real(self, year)

    monkeypatch.setattr(holidays.HolidayBase, "_populate", populate_after_a_pause)
    other, out = in_thread(lambda: schedule.is_closed_day(NEW_YEAR))
    assert pause.reached.wait(10)
    try:
        assert schedule.is_closed_day(NEW_YEAR)  # New Year's Day, while the other thread fills 2027
    finally:
        pause.release.set()
        other.join(10)
    assert out["answer"] is True


def test_two_years_worked_out_at_once_each_keep_their_holidays(monkeypatch):
    schedule, pause = WeeklySchedule(WEEKDAYS), Pause()
    real, added = holidays.HolidayBase._add_holiday, []

    def add_then_pause(self, *args, **kwargs):
        found = real(self, *args, **kwargs)
        added.append(found)
        pause.hook()  # one of 2027's holidays is in; the rest wait
        return found

    monkeypatch.setattr(holidays.HolidayBase, "_add_holiday", add_then_pause)
    other, _out = in_thread(lambda: schedule.is_closed_day(NEW_YEAR))
    assert pause.reached.wait(10)
    try:
        assert not schedule.is_closed_day(date(2028, 3, 1))  # this thread works 2028 out meanwhile
    finally:
        pause.release.set()
        other.join(10)
    assert schedule.is_closed_day(RECONCILIATION)
    monday_before = datetime(2027, 12, 13, 10, 0, tzinfo=SAST)  # Thursday's holiday is no working day
    assert add_working_days(monday_before, 4, schedule) == datetime(2027, 12, 20, 10, 0, tzinfo=SAST)

