"""``thusong web``: granian (default) or gunicorn, or the development server. (``thusong worker`` is in
:mod:`gateway.cli.worker`: a worker must not pay for importing the web app.)"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from functools import partial
from pathlib import Path

import click
from granian.constants import Interfaces
from granian.server import Server
from gunicorn.app.base import BaseApplication
from prometheus_client import multiprocess
from werkzeug.serving import run_simple

from config.logging import configure_logging, route_to_root
from gateway.cli.common import settings_or_exit
from gateway.web.app import create_app

log = logging.getLogger("thusong")
# The first is the default: granian answers a USSD hop with 10-15 % less CPU than gunicorn's sync
# workers (the README's server table). It has no arbiter killing a worker stuck on a request, so
# the web app's database timeouts (gateway.web.app.WEB_DB_TIMEOUTS) bound what a request waits for.
SERVERS = ("granian", "gunicorn")
# A granian worker still busy this long after a stop signal is killed: longer than nginx lets any
# webhook run (10 s), shorter than systemd's TimeoutStopSec (30 s). It also ends the wait for a
# worker the signal reached while it was starting, which granian would otherwise wait for forever.
GRANIAN_KILL_TIMEOUT = 20
# granian's blocking threads per worker: while one request waits on the database (an inbound
# SMS's commit), others run, and the SMS that arrive meanwhile share the next commit
# (gateway.store.group_commit). One thread a worker stores one SMS per commit; see
# docs/benchmarks.md for the measured choice.
GRANIAN_THREADS = 8
# granian's own loggers write to its console handler: send them through the masked root handler
# instead (a line about a failed request can carry its URI, token included, or a caller's number).
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when the thread that forked it ends
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
GRANIAN_LOGGING = {"loggers": {name: {"handlers": [], "propagate": True} for name in ("_granian", "granian.access")}}


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="Worker processes.")
@click.option("--server", type=click.Choice(SERVERS), default=SERVERS[0], show_default=True,
              help="granian (Rust, WSGI) or gunicorn (sync workers; gthread with --threads above 1). "
                   "The README's server table says how they compare.")
@click.option("--threads", default=None, type=click.IntRange(min=1),
              help=f"Threads per worker (granian: blocking threads, default {GRANIAN_THREADS}; gunicorn: default 1, "
                   "above 1 selects its gthread workers).")
@click.option("--dev", is_flag=True, help="Use the single-process development server instead.")
def web(host: str, port: int, workers: int, server: str, threads: int | None, dev: bool) -> None:
    """Serve the web app (webhooks, simulator, health and metrics).

    Neither server may face the internet: put the nginx site in deploy/nginx/ in front (it
    buffers slow clients) and set TRUSTED_PROXIES=1.
    """
    settings = settings_or_exit()
    threads = threads or (GRANIAN_THREADS if server == "granian" else 1)
    if dev:
        run_simple(host, port, create_app(settings), threaded=True, use_reloader=False)
        return
    folder = str(metrics_folder(settings, port))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") != folder:
        # prometheus-client picks its value store when first imported, and this process has
        # imported it already (the app's metrics): start again with the folder in the
        # environment, so the server's workers (forked or spawned from here) count into shared files.
        _empty_metrics_folder(Path(folder))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        os.execv(sys.executable, [sys.executable, "-m", "gateway.cli", "web", "--host", host,
                                  "--port", str(port), "--workers", str(workers), "--server", server,
                                  "--threads", str(threads)])
    if server == "granian":
        _granian(host, port, workers, threads, settings)
        return
    settings = settings.with_(PROMETHEUS_MULTIPROC_DIR=folder)

    def child_exit(_server, worker) -> None:
        multiprocess.mark_process_dead(worker.pid, folder)  # its live gauges no longer count

    class _App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)  # above 1: gunicorn runs gthread workers
            self.cfg.set("accesslog", None)
            self.cfg.set("child_exit", child_exit)

        def load(self):
            app = create_app(settings)
            route_to_root("gunicorn.error")  # in the worker: its tracebacks get masked too
            return app

    _App().run()


def metrics_folder(settings, port: int) -> Path:
    """Where the server on ``port`` keeps its workers' metric files: PROMETHEUS_MULTIPROC_DIR, or
    one folder per port under the instance folder. Per port, because a start empties it: the
    shipped units run several servers per host (thusong-web@8001, @8002), and one shared folder
    let the second's start wipe the first's counts."""
    if settings.PROMETHEUS_MULTIPROC_DIR:
        return Path(settings.PROMETHEUS_MULTIPROC_DIR)
    return settings.instance_path / "prometheus" / f"web-{port}"


def _granian(host: str, port: int, workers: int, threads: int, settings) -> None:
    """granian's WSGI workers (separate processes) build the app (:func:`_granian_worker_app`),
    settings from the environment — which holds PROMETHEUS_MULTIPROC_DIR by now — and die with
    this process. granian has
    no hook for a worker's exit: a respawned worker's live gauges stay in the folder until the
    next start empties it (counters are unaffected). SIGTERM or SIGINT: it stops accepting, lets the
    requests in flight finish, then exits (a worker still busy after GRANIAN_KILL_TIMEOUT is killed)."""
    configure_logging(settings.LOG_LEVEL, settings.LOG_JSON)  # this process logs only granian's lines
    Server("gateway.web.wsgi:app", address=host, port=port, interface=Interfaces.WSGI, workers=workers,
           blocking_threads=threads, log_access=False, log_dictconfig=GRANIAN_LOGGING,
           respawn_failed_workers=True, workers_kill_timeout=GRANIAN_KILL_TIMEOUT,
           ).serve(target_loader=partial(_granian_worker_app, os.getpid()), wrap_loader=False)


def _granian_worker_app(server_pid: int):
    """What each granian worker serves (as ``gateway.web.wsgi:app``: settings from the
    environment), loaded after the worker asked the kernel to signal it when the main process
    dies. granian's workers do not watch their parent: a ``kill -9`` of the main process left
    them serving the port, orphans, beside the listeners of the server systemd restarted.
    SIGTERM, so a worker still answers the requests in hand (the web's database timeouts bound
    them) but takes no new ones. Linux; elsewhere a worker outlives its parent as before."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != server_pid:  # it died before we asked: nobody would signal us now
        os.kill(os.getpid(), signal.SIGTERM)
    return create_app()


def _empty_metrics_folder(folder: Path) -> None:
    """The folder where gunicorn workers keep their metric values, emptied: a previous run's
    counts are not this run's. /metrics adds up every worker's file."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
