"""A worker killed with SIGKILL (systemd's unit restarts it under the same ``--name``): the
restart runs at once, and ``thusong status`` reports the dead worker dead within three of its
heartbeats — the worker processes are real, the heartbeat shortened by its setting."""

from __future__ import annotations

import os
import signal

import pytest
from click.testing import CliRunner
from rq import SimpleWorker

from gateway import fleet, jobs
from gateway.cli import main
from tests.workers import start_worker, wait_until

pytestmark = pytest.mark.slow
BEAT = {"WORKER_HEARTBEAT_SECONDS": "1"}


@pytest.fixture
def env(settings, monkeypatch):
    for key, value in {**settings.as_environ(), **BEAT}.items():
        monkeypatch.setenv(key, value)
    return settings


def registered_pid(rt, name: str) -> int | None:
    worker = SimpleWorker.find_by_key(SimpleWorker.redis_worker_namespace_prefix + name, connection=rt.redis)
    return worker.pid if worker is not None and not rt.redis.hexists(worker.key, "death") else None


def kill(proc) -> None:
    """SIGKILL to the worker and its scheduler process, as systemd kills a unit's control group."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # exited already
    proc.wait()


def test_a_worker_killed_then_started_again_under_its_name_runs_at_once(rt, settings):
    name = "thusong-testhost-1"
    first = start_worker(settings, "--name", name, new_session=True)  # the default beat: 10 s
    try:
        wait_until(lambda: registered_pid(rt, name) == first.pid, timeout=60)
    finally:
        kill(first)
    again = start_worker(settings, "--name", name, new_session=True)
    try:
        # At once: long before the dead one's three beats (30 s) have run out — it ran on this
        # host and its process is gone. 25 s is a start on a loaded machine, not a wait for that.
        wait_until(lambda: again.poll() is not None or registered_pid(rt, name) == again.pid, timeout=25)
        assert again.poll() is None, f"the restart exited with status {again.returncode}"
        job = rt.queue(jobs.QUEUE_REPLIES).enqueue(jobs.PING, "restarted")
        wait_until(lambda: job.get_status(refresh=True) == "finished", timeout=30)
        assert job.return_value()["pid"] == again.pid
    finally:
        kill(again)


def test_status_reports_a_killed_worker_dead_within_three_heartbeats(rt, env):
    names = ("thusong-testhost-1", "thusong-testhost-2")
    procs = [start_worker(env, "--name", name, env=BEAT, new_session=True) for name in names]
    try:
        wait_until(lambda: all(registered_pid(rt, n) == p.pid for n, p in zip(names, procs, strict=True)), timeout=60)
        # The scheduler's first heartbeat (what status judges it by) comes a moment after the
        # workers register on a loaded host.
        wait_until(lambda: CliRunner().invoke(main, ["status"]).exit_code == 0, timeout=30)
        healthy = CliRunner().invoke(main, ["status"])
        assert healthy.exit_code == 0, healthy.output
        kill(procs[1])

        def reported_dead():
            result = CliRunner().invoke(main, ["status"])
            return result if "FAIL dead worker: thusong-testhost-2" in result.output else None

        result = wait_until(reported_dead, timeout=20, every=0.5)  # 3 beats of 1 s, and then some
        assert result.exit_code == 1
        assert "1 alive: thusong-testhost-1" in result.output
    finally:
        for proc in procs:
            if proc.poll() is None:
                kill(proc)


def test_a_worker_in_a_long_job_is_alive_and_a_second_worker_of_its_name_is_refused(rt, env):
    """The beat goes on while a job runs (RQ's own only between jobs); a name a live worker
    holds is no dead worker's to clear: the second process waits out its beats, then refuses."""
    name = "thusong-testhost-1"
    worker = start_worker(env, "--name", name, env=BEAT, new_session=True)
    try:
        wait_until(lambda: registered_pid(rt, name) == worker.pid, timeout=60)
        job = rt.queue(jobs.QUEUE_REPLIES).enqueue("time.sleep", 30)
        wait_until(lambda: job.get_status(refresh=True) == "started", timeout=30, every=0.05)
        twin = start_worker(env, "--name", name, env=BEAT, new_session=True)
        try:
            assert twin.wait(60) == 1
        finally:
            kill(twin)
        assert job.get_status(refresh=True) == "started", "the job ended before three beats passed"
        status = CliRunner().invoke(main, ["status"])  # well past three beats into the job
        assert "1 alive: thusong-testhost-1" in status.output and "dead worker" not in status.output, status.output
        assert registered_pid(rt, name) == worker.pid
    finally:
        kill(worker)


def test_the_heartbeat_registers_nothing_before_birth_or_after_death(rt):
    worker = SimpleWorker([rt.queue(jobs.QUEUE_REPLIES)], connection=rt.redis, name="thusong-testhost-9")
    beat = fleet.Heartbeat(worker, 1.0)
    beat.beat()
    worker.register_birth()  # RQ refuses a name already registered and alive
    beat.beat()
    assert [m.name for m in fleet.workers(rt.redis, 1.0)] == ["thusong-testhost-9"]
    worker.register_death()
    beat.beat()
    assert fleet.workers(rt.redis, 1.0) == []


def test_a_worker_redis_forgot_is_registered_again_by_its_heartbeat(rt):
    worker = SimpleWorker([rt.queue(jobs.QUEUE_REPLIES)], connection=rt.redis, name="thusong-testhost-9")
    worker.register_birth()
    rt.redis.flushdb()  # a Redis restarted without its data
    fleet.Heartbeat(worker, 1.0).beat()
    [member] = fleet.workers(rt.redis, 1.0)
    assert (member.name, member.pid, member.alive) == ("thusong-testhost-9", os.getpid(), True)
    assert member.queues == (jobs.QUEUE_REPLIES,)


def test_a_worker_told_to_stop_stops_and_leaves_no_dead_registration(rt, settings):
    name = "thusong-testhost-1"
    worker = start_worker(settings, "--name", name, env=BEAT, new_session=True)
    try:
        wait_until(lambda: registered_pid(rt, name) == worker.pid, timeout=60)
        # Listening: RQ's signal handlers are in place (before, a SIGTERM ends it at once).
        key = SimpleWorker.redis_worker_namespace_prefix + name
        wait_until(lambda: rt.redis.hget(key, "state") == b"idle", timeout=30, every=0.05)
        worker.send_signal(signal.SIGTERM)  # systemd's stop
        assert worker.wait(30) == 0
        assert registered_pid(rt, name) is None and fleet.workers(rt.redis, 1.0) == []
    finally:
        kill(worker)
