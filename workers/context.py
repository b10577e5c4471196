"""The worker process's runtime: built once from the environment, on first use."""

from __future__ import annotations

_runtime = None


def runtime():
    global _runtime
    if _runtime is None:
        from config import load_settings
        from gateway.runtime import Runtime

        _runtime = Runtime.from_settings(load_settings())
    return _runtime
