"""The worker process's runtime: built once from the environment, on first use."""

from __future__ import annotations

from config import load_settings
from gateway.runtime import Runtime

_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime.from_settings(load_settings())
    return _runtime
