"""Serve the app on a loopback port (for callbacks from the fake AT and for the browser)."""

from __future__ import annotations

import threading
from contextlib import contextmanager


@contextmanager
def serving(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(port: int, method: str, path: str, form: dict | None = None, timeout: float = 10,
         headers: dict | None = None) -> tuple[int, str]:
    """One request on a fresh connection (as AT makes them): (status, body)."""
    import http.client
    import urllib.parse

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        body = urllib.parse.urlencode(form) if form is not None else None
        sent = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
        conn.request(method, path, body, {**sent, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


@contextmanager
def thusong_web(settings, workers: int = 2, server: str | None = None, output=None, threads: int | None = None,
                **changes):
    """``thusong web`` (``--server server``, else its default) on a free loopback port, sharing
    the tests' Redis and database, once ``/healthz`` answers: yields the port. ``threads``:
    ``--threads`` (else its default).
    ``output``: a path that gets everything it prints (standard output and error)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.workers import ROOT

    port = free_port()
    env = {**os.environ, **settings.with_(**changes).as_environ()}
    # Its own process group: if it does not stop, its workers are killed with it, not left
    # serving (granian waits GRANIAN_KILL_TIMEOUT, 20 s, for a worker a signal reached while it
    # was starting; a test need not).
    sink = open(output, "w") if output else None  # open as long as the server runs
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "web", "--port", str(port),
                             "--workers", str(workers), *(["--server", server] if server else []),
                             *(["--threads", str(threads)] if threads else [])], cwd=ROOT, env=env,
                            stdout=sink, stderr=subprocess.STDOUT if sink else None, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if http(port, "GET", "/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "thusong web did not start"
            time.sleep(0.05)
        yield port
    finally:
        proc.send_signal(signal.SIGINT)  # a quick shutdown (gunicorn's, granian's): tests need no graceful drain
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if sink:
            sink.close()


def web_processes(port: int) -> tuple[int, list[int]]:
    """(the pid of `thusong web` serving ``port``, the pids of its worker processes). granian's
    workers carry its command line too; the server is the one with children."""
    from pathlib import Path

    found = None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
            children = [int(c) for c in (proc / "task" / proc.name / "children").read_text().split()]
        except OSError:
            continue
        if b"gateway.cli" in args and b"web" in args and str(port).encode() in args:
            if children:
                return int(proc.name), children
            found = found or int(proc.name)
    assert found, "no thusong web process found"
    return found, []  # its workers are still starting
