"""A round-trip job: proves a worker process shares the web server's Redis."""

from __future__ import annotations

import os
import socket


def ping(token: str) -> dict:
    """Echo ``token`` with the worker's pid and host, so a caller can see who ran it."""
    return {"token": token, "pid": os.getpid(), "host": socket.gethostname()}
