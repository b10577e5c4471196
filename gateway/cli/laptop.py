"""Everything for one laptop: ``thusong run`` and ``thusong simulate`` (registered on the
``thusong`` group by ``gateway.cli``).

``run`` migrates, seeds the shipped centres if the directory is empty, starts an embedded Redis
when ``REDIS_URL`` is unset, a worker and the web server, prints the URLs (with a development
webhook token it generates and keeps in the instance folder), and stops everything it started
on Ctrl-C or SIGTERM. ``simulate`` is a phone in the terminal.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

import click
from sqlalchemy import func, select

from config import Settings, configure_logging
from config.settings import with_generated_secrets
from gateway.cli.common import settings_or_exit
from gateway.directory.centre_csv import SEED, import_centres
from gateway.runtime import Runtime
from gateway.store.engine import upgrade
from gateway.store.models import Centre
from gateway.web.app import create_app

log = logging.getLogger("thusong")


def _dev_secrets(settings: Settings) -> Settings:
    """Development: reuse (or make and keep) SECRET_KEY and WEBHOOK_TOKEN in the instance folder."""
    path = settings.instance_path / "dev-secrets.json"
    saved = json.loads(path.read_text()) if path.is_file() else {}
    settings = settings.with_(**{k: v for k, v in saved.items() if not getattr(settings, k)})
    settings, made = with_generated_secrets(settings)
    if made:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({k: getattr(settings, k) for k in ("SECRET_KEY", "WEBHOOK_TOKEN")}))
        path.chmod(0o600)
    return settings


def seed_if_empty(rt) -> int:
    """Import the shipped seed centres when the directory is empty; return how many."""
    with rt.sessions() as session:
        if session.scalar(select(func.count()).select_from(Centre)):
            return 0
    report = import_centres(rt.sessions, SEED.read_text(encoding="utf-8"), rt.gazetteer)
    return report.inserted


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--verbose", is_flag=True,
              help="Show everything (LOG_LEVEL=DEBUG): RQ's job lines, the housekeeping sweep, Alembic, "
                   "the access log. Without it: one line per SMS in or out, broadcast progress, errors.")
def run(host: str, port: int, verbose: bool) -> None:
    """Everything on one laptop: migrate, seed, embedded Redis, web server and a worker."""
    settings = settings_or_exit()
    if settings.is_production:
        raise click.ClickException("`run` is for development; use `web` and `worker` in production")
    settings = _dev_secrets(settings)
    if verbose:
        settings = settings.with_(LOG_LEVEL="DEBUG")  # the children read it from their environment
    configure_logging(settings.LOG_LEVEL, settings.LOG_JSON)
    rt = Runtime.from_settings(settings)  # creates the database: it is migrated next
    children: list[subprocess.Popen] = []

    def stop(*_args) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        upgrade(rt.engine)
        seeded = seed_if_empty(rt)
        env = {**os.environ, **rt.child_environ()}
        cli = [sys.executable, "-m", "gateway.cli"]
        children.append(subprocess.Popen([*cli, "worker"], env=env))
        children.append(subprocess.Popen([*cli, "web", "--dev", "--host", host, "--port", str(port)], env=env))
        base = f"http://{host}:{port}"
        token = settings.WEBHOOK_TOKEN
        click.echo(f"""
Thusong gateway is running ({'seeded ' + str(seeded) + ' centres, ' if seeded else ''}Redis: {rt.redis_url}).
  simulator   {base}/simulator
  health      {base}/healthz   (job round trip: {base}/healthz?worker=1)
  webhooks    {base}/webhooks/at/ussd?token={token}
              {base}/webhooks/at/sms?token={token}
              {base}/webhooks/at/sms/delivery?token={token}
              {base}/webhooks/at/sms/optout?token={token}
Press Ctrl-C to stop.
""")
        while all(c.poll() is None for c in children):
            time.sleep(0.5)
        raise click.ClickException("a child process exited; stopping")
    except KeyboardInterrupt:
        click.echo("stopping…")
    finally:
        # A second Ctrl-C or SIGTERM (a supervisor repeating itself) must not cut the shutdown
        # short: that left the embedded Redis running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        rt.close()


@click.command()
@click.option("--phone", default="0821234567", show_default=True, help="The number you dial from.")
@click.option("--url", default=None,
              help="A running service (e.g. http://127.0.0.1:5000); default: the app in-process.")
def simulate(phone: str, url: str | None) -> None:
    """A phone in the terminal: dial the USSD service, read each screen, type replies.

    Drives the same handler as AT's webhook (through the simulator endpoint). Type 'q' to hang up.
    """
    import uuid

    from rich.console import Console
    from rich.panel import Panel

    console = Console()
    if url:
        import requests

        def hop(payload):
            resp = requests.post(url.rstrip("/") + "/simulator/ussd", json=payload, timeout=15)
            resp.raise_for_status()
            return resp.json()
        rt = None
    else:
        settings = settings_or_exit()
        if settings.is_production:
            raise click.ClickException("`simulate` is for development; the simulator is refused in production")
        settings = settings.with_(SIMULATOR_ENABLED=True)
        rt = Runtime.from_settings(settings)  # creates the database: it is migrated next
        upgrade(rt.engine)
        seed_if_empty(rt)
        client = create_app(runtime=rt).test_client()

        def hop(payload):
            resp = client.post("/simulator/ussd", json=payload)
            if resp.status_code != 200:
                raise click.ClickException(resp.get_data(as_text=True))
            return resp.get_json()
    try:
        session, text = f"SIM-{uuid.uuid4().hex[:12]}", ""
        while True:
            answer = hop({"phone": phone, "session": session, "text": text})
            console.print(Panel(answer["reply"], title=f"{phone}", width=36))
            if answer["end"]:
                break
            typed = click.prompt("reply", default="", show_default=False)
            if typed.strip().lower() == "q":
                break
            text = f"{text}*{typed}" if text else typed
    finally:
        if rt is not None:
            rt.close()
