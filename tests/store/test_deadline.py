"""The client's own deadline on PostgreSQL round trips (:mod:`gateway.store.deadline`): the
stall it reveals fails calls at once, lets one caller at a time try again, and ends at the
first answer. The freeze itself, through a proxy and real servers, is tests/web/test_db_freeze.py."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from gateway.store.deadline import Stall, Stalled
from gateway.store.engine import DEADLINE_S, TCP_LIMITS, make_engine


def test_an_unanswered_wait_fails_calls_at_once_until_the_cooldown_ends():
    stall = Stall(deadline=1.0, cooldown=3600)
    stall.admit()  # answering: nothing held
    stall.expired("statement")
    with pytest.raises(Stalled):
        stall.admit()
    stall.answered()  # an answer from any connection ends it
    stall.admit()
    assert not stall.stalled


def test_after_the_cooldown_one_caller_at_a_time_tries_the_database():
    stall = Stall(deadline=1.0, cooldown=0)
    stall.expired("connection")
    stall.admit()  # this one tries
    with pytest.raises(Stalled):
        stall.admit()  # while it tries, the others fail at once
    stall.forgive()  # it went away without an answer (an interrupt): the next may try
    stall.admit()
    stall.expired("statement")  # and got none: held again, the next after the cooldown tries
    stall.admit()
    stall.answered()
    stall.admit()
    stall.admit()


def _postgresql(settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL connection's deadline; SQLite has its busy timeout")


def test_a_round_trip_past_its_deadline_ends_and_the_engine_answers_again(settings):
    """A statement the server takes longer to answer than the deadline: the caller gets an
    OperationalError (the server is never told; the connection is closed and left out of the
    pool), and the next call, once the cooldown is over, gets a fresh connection."""
    _postgresql(settings)
    engine = make_engine(settings.database_url, deadline_s=0.3)
    try:
        with engine.connect() as conn:
            stall = conn.connection.driver_connection.stall
            stall.cooldown = 0  # no wait for the next caller in this test
            with pytest.raises(OperationalError) as raised:
                conn.execute(text("SELECT pg_sleep(2)"))
            assert isinstance(raised.value.orig, Stalled) and conn.invalidated
        assert stall.stalled
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT 1")) == 1
        assert not stall.stalled
    finally:
        engine.dispose()


def test_connections_carry_keepalives_and_a_tcp_user_timeout(settings):
    """For a network path that dies (packets dropped, no reset): the kernel ends the connection."""
    _postgresql(settings)
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            given = conn.connection.driver_connection.info.get_parameters()
    finally:
        engine.dispose()
    assert {k: given.get(k) for k in TCP_LIMITS} == {k: str(v) for k, v in TCP_LIMITS.items()}


def test_workers_and_commands_get_a_long_deadline_not_none(settings):
    """An engine nobody chose limits for (the RQ workers', most commands') still never waits
    forever: :data:`~gateway.store.engine.DEADLINE_S` per round trip."""
    _postgresql(settings)
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            assert conn.connection.driver_connection.stall.deadline == DEADLINE_S
    finally:
        engine.dispose()
