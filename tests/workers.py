"""Start real RQ worker processes for integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_worker(settings, *extra: str, env: dict | None = None) -> subprocess.Popen:
    environ = {**os.environ, **settings.as_environ(), **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker", *extra], cwd=ROOT, env=environ)


@contextmanager
def running_workers(settings, count: int = 1, env: dict | None = None):
    procs = [start_worker(settings, env=env) for _ in range(count)]
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
