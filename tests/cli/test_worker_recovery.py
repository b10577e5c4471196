"""A Redis that restarts empty (no persistence, or a new server), or RQ's scheduler process
killed: the worker registers again and the scheduler is started again, on their own, and
``thusong status`` says so. A private redis-server (tests/redis_process.py), never the
shared one."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from rq import Queue, Worker
from rq.serializers import JSONSerializer

from gateway import fleet, jobs
from gateway.cli import main
from tests.redis_process import RedisProcess
from tests.workers import running_workers, start_worker, wait_until

pytestmark = pytest.mark.slow
BEAT = {"WORKER_HEARTBEAT_SECONDS": "1"}


@pytest.fixture
def private_redis():
    server = RedisProcess().start()
    try:
        yield server
    finally:
        server.stop()


def status(monkeypatch, settings):
    for key, value in {**settings.as_environ(), **BEAT}.items():
        monkeypatch.setenv(key, value)
    return CliRunner().invoke(main, ["status"])


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (none once it exited). A child that died but that
    its parent has not reaped yet (a zombie, state ``Z``) is not alive."""
    try:
        listed = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []
    return [c for c in listed if _state(c) not in ("Z", "X", None)]


def _state(pid: int) -> str | None:
    """The process's state letter from /proc (None once it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return None


def healthy(monkeypatch, settings):
    """``thusong status`` once it exits 0 (it fails, with its output, after 30 s)."""
    def ok():
        result = status(monkeypatch, settings)
        return result if result.exit_code == 0 else None

    try:
        return wait_until(ok, timeout=30, every=0.5)
    except AssertionError:
        last = status(monkeypatch, settings)
        raise AssertionError(f"{last.output}{last.exception!r}") from None


def test_worker_and_scheduler_come_back_after_redis_restarts_empty(rt, settings, private_redis, monkeypatch):
    ours = settings.with_(REDIS_URL=private_redis.url)
    client = redis.Redis.from_url(private_redis.url)
    with running_workers(ours, 1, env=BEAT) as [worker]:
        healthy(monkeypatch, ours)
        assert children(worker.pid), "RQ's scheduler process is not running"
        private_redis.stop()
        # Down long enough for RQ's scheduler process to die of it (it beats every second). On a
        # loaded host it may still be retrying: it is then ended as it would have died.
        try:
            wait_until(lambda: not children(worker.pid), timeout=15)
        except AssertionError:
            for pid in children(worker.pid):
                os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not children(worker.pid), timeout=15)
        private_redis.start()  # same port, no data: every registration and lock is gone
        result = healthy(monkeypatch, ours)
        assert "1 alive" in result.output
        assert [w.pid for w in Worker.all(connection=client)] == [worker.pid]  # `rq info` sees it too
        # The scheduler works: a job scheduled a second ahead runs.
        queue = Queue(jobs.QUEUE_REPLIES, connection=client, serializer=JSONSerializer)
        job = queue.enqueue_in(timedelta(seconds=1), jobs.PING, "after-restart")
        wait_until(lambda: job.get_status(refresh=True) == "finished", timeout=30)
    client.close()


def test_a_killed_scheduler_process_is_started_again_by_its_worker(rt, settings, private_redis, monkeypatch):
    """RQ's worker looks after its scheduler only in its maintenance, every 10 minutes by
    default: here every three heartbeats."""
    ours = settings.with_(REDIS_URL=private_redis.url)
    with running_workers(ours, 1, env=BEAT) as [worker]:
        healthy(monkeypatch, ours)
        [scheduler] = children(worker.pid)
        os.kill(scheduler, signal.SIGKILL)
        wait_until(lambda: children(worker.pid) not in ([], [scheduler]), timeout=30)
        healthy(monkeypatch, ours)
        client = redis.Redis.from_url(private_redis.url)
        held = fleet.schedulers(client, jobs.QUEUES, 1.0)
        client.close()
        assert {m.pid for m in held.values()} == set(children(worker.pid))  # the new one


def test_a_worker_started_while_redis_is_down_waits_for_it(rt, settings, private_redis, monkeypatch, tmp_path):
    ours = settings.with_(REDIS_URL=private_redis.url)
    private_redis.stop()
    log = tmp_path / "worker.log"
    with open(log, "w") as sink:
        worker = start_worker(ours, env=BEAT, new_session=True, stderr=sink)
    try:
        wait_until(lambda: worker.poll() is not None or "redis unavailable" in log.read_text(), timeout=60)
        private_redis.start()
        result = healthy(monkeypatch, ours)
        assert "1 alive" in result.output and worker.poll() is None
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def test_a_worker_whose_job_ended_while_redis_was_down_starts_again(rt, settings, private_redis, monkeypatch,
                                                                     tmp_path):
    """Redis gone as a job ends: RQ cannot record the outcome, its loop quits on the error
    (outside its blocking read, which would retry). The worker starts again once Redis answers."""
    ours = settings.with_(REDIS_URL=private_redis.url)
    log = tmp_path / "worker.log"
    with open(log, "w") as sink:
        worker = start_worker(ours, env=BEAT, new_session=True, stderr=sink)
    try:
        healthy(monkeypatch, ours)
        client = redis.Redis.from_url(private_redis.url)
        job = Queue(jobs.QUEUE_REPLIES, connection=client, serializer=JSONSerializer).enqueue("time.sleep", 2)
        wait_until(lambda: job.get_status(refresh=True) == "started", timeout=30, every=0.05)
        client.close()
        private_redis.stop()
        wait_until(lambda: worker.poll() is not None or "starting again once" in log.read_text(), timeout=60)
        private_redis.start()
        result = healthy(monkeypatch, ours)
        assert "1 alive" in result.output and worker.poll() is None
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
