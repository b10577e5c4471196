"""``thusong demo seed``: writes usage whose roll-up agrees with the detail, and never into a
database that already holds usage."""

from __future__ import annotations

import dataclasses
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from gateway.clock import SAST, FrozenClock
from gateway.store.models import DailyFigure, Message, UssdHopLog
from gateway.usage import demo, rollup


def test_demo_seed_writes_days_that_roll_up_to_the_same_counts(seeded):
    # Demo usage stops at the clock's "now": at 16:00 today is mostly written whatever the
    # hour the test runs (just after midnight, today had too little for the counts below).
    afternoon = datetime.combine(datetime.now(SAST).date(), time(16), SAST)
    seeded = dataclasses.replace(seeded, clock=FrozenClock(afternoon))
    totals = demo.seed(seeded, 3)
    assert totals["hops"] > 3000 and totals["sms_out"] > 500 and totals["days_rolled_up"] == 2
    yesterday = rollup.local_day(seeded.clock.now()) - timedelta(days=1)
    start, end = rollup.day_bounds(yesterday)
    with seeded.sessions() as s:
        hops = s.scalar(select(func.count()).select_from(UssdHopLog).where(UssdHopLog.at >= start,
                                                                          UssdHopLog.at < end))
        stored = s.scalar(select(DailyFigure.n).where(DailyFigure.metric == "ussd_hops",
                                                      DailyFigure.day == yesterday))
        sms = s.scalar(select(func.count()).select_from(Message).where(
            Message.direction == "out", Message.created_at >= start, Message.created_at < end))
        rolled_sms = s.scalar(select(func.sum(DailyFigure.n)).where(DailyFigure.metric == "sms",
                                                                    DailyFigure.day == yesterday))
    assert hops == stored > 0 and sms == rolled_sms > 0
    with pytest.raises(demo.SeedRefused, match="already holds usage"):
        demo.seed(seeded, 1)


def test_demo_seed_is_refused_in_production(seeded):
    prod = dataclasses.replace(seeded, settings=seeded.settings.with_(THUSONG_ENV="production",
                                                                      METRICS_TOKEN="m", SIMULATOR_ENABLED="false"))
    with pytest.raises(demo.SeedRefused, match="production"):
        demo.seed(prod, 1)
