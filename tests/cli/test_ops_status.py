"""``thusong status``: one screen, exit 0 when healthy and 1 naming what is wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from rq import Worker
from sqlalchemy import update

from gateway import jobs
from gateway.cli import main
from gateway.sms import credit, outbox
from gateway.store.models import Message, utcnow
from tests.workers import running_workers, wait_until


@pytest.fixture
def env(settings, monkeypatch):
    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)
    return settings


def run_status(*args):
    return CliRunner().invoke(main, ["status", *args])


@pytest.mark.slow
def test_healthy_with_a_worker_then_each_problem_is_named(rt, env):
    with running_workers(env, 1):
        wait_until(lambda: Worker.all(connection=rt.redis))
        # Its scheduler takes the queues' locks a moment after the worker registers, and its
        # first heartbeat (what status judges it by) a moment after that on a loaded host.
        wait_until(lambda: all(rt.redis.exists(f"rq:scheduler-lock:{q}") for q in jobs.QUEUES), timeout=30)
        wait_until(lambda: run_status().exit_code == 0, timeout=30)
        result = run_status()
        assert result.exit_code == 0, result.output
        for shown in ("queue replies", "queue bulk", "oldest unsent reply", "oldest unsent bulk", "last AT error",
                      "broadcasts running", "credit", "database", "redis", "reachable", "not paused"):
            assert shown in result.output, shown

        credit.out_of_credit(rt, 3)
        credit.note_error(rt, "InsufficientBalance", "AT refused 3 recipients: out of credit (405)")
        result = run_status()
        assert result.exit_code == 1
        assert "FAIL credit" in result.output and "top up" in result.output
        assert "InsufficientBalance: AT refused 3" in result.output

        credit.credit_back(rt)
        message_id = outbox.queue_sms(rt, "+27821110099", "Your nearest centre", key="status-old")
        with rt.sessions.begin() as s:  # a reply nobody sent for ten minutes
            s.execute(update(Message).where(Message.id == message_id).values(
                status="retry", created_at=utcnow() - timedelta(minutes=10)))
        result = run_status()
        assert result.exit_code == 1 and "FAIL oldest unsent reply" in result.output
        assert "10 min" in result.output
        assert "+27821110099" not in result.output


def test_no_worker_is_a_problem(rt, env):
    result = run_status()
    assert result.exit_code == 1 and "FAIL workers: no worker is running" in result.output


def test_unreachable_redis_and_database_are_named(rt, env, monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = run_status()
    assert result.exit_code == 1
    assert "FAIL database" in result.output and "FAIL redis" in result.output


def test_queue_depths_count_waiting_jobs(rt, env):
    outbox.kick(rt, jobs.QUEUE_BULK)
    result = run_status()
    assert "1 jobs waiting" in result.output


def test_a_reply_waiting_longer_than_the_alerts_minute_is_a_problem_by_default(rt, env):
    """The default --reply-age is the documented alert's 60 s, not five minutes."""
    message_id = outbox.queue_sms(rt, "+27821110098", "Your nearest centre", key="status-90s")
    with rt.sessions.begin() as s:
        s.execute(update(Message).where(Message.id == message_id).values(
            created_at=utcnow() - timedelta(seconds=90)))
    result = run_status()
    assert "FAIL oldest unsent reply" in result.output
    assert "more than 60 s" in result.output
