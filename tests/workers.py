"""Start real RQ worker processes for integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_worker(settings, *extra: str, env: dict | None = None, new_session: bool = False,
                 stderr=None) -> subprocess.Popen:
    environ = {**os.environ, **settings.as_environ(), **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker", *extra], cwd=ROOT, env=environ,
                            start_new_session=new_session, stderr=stderr)


@contextmanager
def running_workers(settings, count: int = 1, env: dict | None = None, args: tuple[str, ...] = ()):
    procs = [start_worker(settings, *args, env=env) for _ in range(count)]
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_until(predicate, timeout: float = 30.0, every: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; fail the test on timeout."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")


BUSY_OUT = ("queued", "sending", "retry", "unknown")
BUSY_IN = ("received", "processing")


def busy_rows(rt) -> int:
    """Messages still moving: outbound not yet final, inbound not yet answered."""
    from sqlalchemy import func, or_, select

    from gateway.store.models import Message

    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(Message).where(or_(
            (Message.direction == "out") & Message.status.in_(BUSY_OUT),
            (Message.direction == "in") & Message.status.in_(BUSY_IN))))


def wait_quiet(rt, timeout: float = 60.0, settle: float = 0.3) -> None:
    """Wait until the system is quiet: no message queued, sending, waiting to retry, unknown
    or unanswered — seen twice, ``settle`` seconds apart (a row written between the two looks
    would show). Counting after this, not after a fixed sleep, is what makes a count honest."""
    import time

    def quiet_twice() -> bool:
        if busy_rows(rt):
            return False
        time.sleep(settle)
        return not busy_rows(rt)

    wait_until(quiet_twice, timeout=timeout)
