"""The long-running processes: ``thusong worker`` (RQ, with the scheduler and the sweeper)
and ``thusong web`` (gunicorn, or the development server)."""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

import click
from gunicorn.app.base import BaseApplication
from prometheus_client import multiprocess
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from werkzeug.serving import run_simple

from config import configure_logging
from config.logging import route_to_root
from gateway import jobs
from gateway.cli.common import runtime_for, settings_or_exit
from gateway.web.app import create_app

log = logging.getLogger("thusong")


@click.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty (for scripts and tests).")
@click.option("--name", default=None, help="Worker name (default: generated).")
@click.option("--sweep-every", default=15.0, show_default=True, type=float,
              help="Seconds between housekeeping sweeps (lost jobs, expired leases).")
def worker(burst: bool, name: str | None, sweep_every: float) -> None:
    """Run one RQ worker on the queues `replies` (first) and `bulk`.

    It also runs RQ's scheduler (for retries with back-off) and, every --sweep-every seconds,
    queues a sweep that re-queues work a killed worker left behind and the analytics job
    (USSD hops from their Redis stream into SQL; daily roll-ups and retention).
    """
    settings = settings_or_exit()
    configure_logging(settings.LOG_LEVEL, settings.LOG_JSON)
    rt = runtime_for(settings)
    stop = threading.Event()

    def sweeper() -> None:
        while not stop.wait(sweep_every):
            try:
                # One sweep per interval across all workers: whoever takes the lock queues it.
                if rt.redis.set("sweep:lock", "1", nx=True, ex=max(int(sweep_every), 1)):
                    rt.queue(jobs.QUEUE_REPLIES).enqueue(jobs.SWEEP)
                    # Analytics wait behind citizens' replies (the bulk queue); one waiting job
                    # is enough, so a long broadcast does not pile them up.
                    jobs.enqueue_once(rt, jobs.QUEUE_BULK, jobs.USAGE, flag=jobs.USAGE_FLAG,
                                      job_timeout=jobs.USAGE_TIMEOUT)
            except Exception:
                log.warning("sweep not queued (redis unavailable?)")

    try:
        rt.queue(jobs.QUEUE_REPLIES).enqueue(jobs.SWEEP)  # pick up what a dead worker left
        jobs.enqueue_once(rt, jobs.QUEUE_BULK, jobs.USAGE, flag=jobs.USAGE_FLAG, job_timeout=jobs.USAGE_TIMEOUT,
                          force=True)
        if not burst:
            threading.Thread(target=sweeper, daemon=True).start()
        # Jobs run in this process, not a fork per job: a send job then reuses the worker's
        # runtime (SQL pool, Redis, SDK session) instead of building one each time (~0.1 s).
        # A worker killed mid-job loses nothing: the outbox lease and the sweeper recover.
        w = SimpleWorker([rt.queue(q) for q in jobs.QUEUES], connection=rt.redis, name=name,
                         serializer=JSONSerializer)
        w.work(burst=burst, logging_level=settings.LOG_LEVEL, with_scheduler=True)
    finally:
        stop.set()
        rt.close()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--dev", is_flag=True, help="Use the single-process development server instead of gunicorn.")
def web(host: str, port: int, workers: int, dev: bool) -> None:
    """Serve the web app (webhooks, simulator, health and metrics).

    gunicorn's sync workers must not face the internet: put the nginx site in deploy/nginx/
    in front (it buffers slow clients) and set TRUSTED_PROXIES=1.
    """
    settings = settings_or_exit()
    if dev:
        run_simple(host, port, create_app(settings), threaded=True, use_reloader=False)
        return
    folder = str(Path(settings.PROMETHEUS_MULTIPROC_DIR or settings.instance_path / "prometheus"))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") != folder:
        # prometheus-client picks its value store when first imported, and this process has
        # imported it already (the app's metrics): start again with the folder in the
        # environment, so the gunicorn workers forked from here count into shared files.
        _empty_metrics_folder(Path(folder))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        os.execv(sys.executable, [sys.executable, "-m", "gateway.cli", "web", "--host", host,
                                  "--port", str(port), "--workers", str(workers)])
    settings = settings.with_(PROMETHEUS_MULTIPROC_DIR=folder)

    def child_exit(_server, worker) -> None:
        multiprocess.mark_process_dead(worker.pid, folder)  # its live gauges no longer count

    class _App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", None)
            self.cfg.set("child_exit", child_exit)

        def load(self):
            app = create_app(settings)
            route_to_root("gunicorn.error")  # in the worker: its tracebacks get masked too
            return app

    _App().run()


def _empty_metrics_folder(folder: Path) -> None:
    """The folder where gunicorn workers keep their metric values, emptied: a previous run's
    counts are not this run's. /metrics adds up every worker's file."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
