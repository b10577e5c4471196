"""``thusong jobs`` and ``thusong jobs requeue``: failed jobs by queue and error, run again
through RQ's registry; real worker processes fail the jobs."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from rq.registry import FailedJobRegistry

from gateway import jobs
from gateway.cli import main
from tests.workers import start_worker, wait_until


@pytest.fixture
def env(settings, monkeypatch):
    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)
    return settings


def _fail_jobs(rt, settings, queue: str, count: int, error_number: str = "") -> list[str]:
    """``count`` jobs on ``queue`` that a real worker fails (their function does not exist)."""
    ids = [rt.queue(queue).enqueue(f"workers.health.missing_{error_number or 'x'}", job_timeout=30).id
           for _ in range(count)]
    worker = start_worker(settings, "--burst")
    assert worker.wait(timeout=60) == 0
    registry = FailedJobRegistry(queue=rt.queue(queue))
    wait_until(lambda: all(i in registry for i in ids))
    return ids


def test_failed_jobs_are_counted_by_queue_and_error_and_requeued(rt, env):
    bulk_ids = _fail_jobs(rt, env, jobs.QUEUE_BULK, 2)
    reply_ids = _fail_jobs(rt, env, jobs.QUEUE_REPLIES, 1, "other")

    shown = CliRunner().invoke(main, ["jobs"])
    assert shown.exit_code == 1, shown.output
    assert "queue replies: 1 failed" in shown.output and "queue bulk: 2 failed" in shown.output
    assert "2  ValueError: Invalid attribute name: missing_x" in shown.output

    only_bulk = CliRunner().invoke(main, ["jobs", "--queue", "bulk", "--each"])
    assert "queue replies" not in only_bulk.output
    assert all(i in only_bulk.output for i in bulk_ids)

    one = CliRunner().invoke(main, ["jobs", "requeue", reply_ids[0]])
    assert one.exit_code == 0 and "requeued 1 job(s)" in one.output
    assert reply_ids[0] in rt.queue(jobs.QUEUE_REPLIES).job_ids
    assert rt.queue(jobs.QUEUE_BULK).count == 0

    again = CliRunner().invoke(main, ["jobs", "requeue", reply_ids[0], "nosuchjob"])
    assert again.exit_code == 1 and "nosuchjob" in again.output and reply_ids[0] in again.output

    every = CliRunner().invoke(main, ["jobs", "requeue", "--all"])
    assert every.exit_code == 0 and "requeued 2 job(s)" in every.output
    assert set(rt.queue(jobs.QUEUE_BULK).job_ids) == set(bulk_ids)
    rt.queue(jobs.QUEUE_BULK).empty()
    rt.queue(jobs.QUEUE_REPLIES).empty()

    clean = CliRunner().invoke(main, ["jobs"])
    assert clean.exit_code == 0 and "queue bulk: 0 failed" in clean.output


def test_requeue_needs_ids_or_all(rt, env):
    result = CliRunner().invoke(main, ["jobs", "requeue"])
    assert result.exit_code == 2 and "give job ids or --all" in result.output
