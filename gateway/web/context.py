"""The runtime a request works with: the app's own (set by :func:`gateway.web.app.create_app`)."""

from __future__ import annotations

from flask import Flask, current_app

from gateway.runtime import Runtime

EXTENSION = "thusong_runtime"


def runtime_of(app: Flask | None = None) -> Runtime:
    """The runtime of ``app`` (default: the app handling this request)."""
    return (app or current_app).extensions[EXTENSION]
