"""``thusong demo seed [--days N]``: realistic usage for demos and the analytics benchmark
(:mod:`gateway.usage.demo`)."""

from __future__ import annotations

import time

import click

from gateway.cli.common import runtime_for
from gateway.cli.laptop import seed_if_empty
from gateway.store import engine as db
from gateway.usage import demo as demo_data


@click.group()
def demo() -> None:
    """Demo data (never in production)."""


@demo.command("seed")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 3650),
              help="Days of usage, ending today.")
def seed(days: int) -> None:
    """Write DAYS days of USSD sessions, searches, SMS, feedback and subscriptions (about 2,900
    hops and 550 SMS a day) into an empty database, then roll them up for the analytics pages."""
    rt = runtime_for()
    try:
        db.upgrade(rt.engine)
        seed_if_empty(rt)
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            if done % 30 == 0 or done == total:
                click.echo(f"  {done}/{total} days written ({time.monotonic() - started:.1f} s)", err=True)

        try:
            totals = demo_data.seed(rt, days, progress=progress)
        except demo_data.SeedRefused as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"seeded {days} days in {time.monotonic() - started:.1f} s: "
                   + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in totals.items()))
    finally:
        rt.close()
