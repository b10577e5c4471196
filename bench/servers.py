"""Which server runs ``thusong web``: gunicorn sync, gunicorn gthread and granian, behind nginx.

Each server serves the real app through ``thusong web --server …`` (real Redis, SQLite, seeded
centres) on loopback, with the shipped nginx site (deploy/nginx/thusong.conf, Debian's nginx,
run as tests/web/test_nginx_slowloris.py runs it) in front, as production runs it. A bare
Flask app (``CON hello`` and an SMS 200) under gunicorn sync ×2 behind the same nginx is the
baseline. Each is driven by ``bench/harness.py``'s load generator (processes × threads, one
TCP connection per request, as AT does) for the same time: first the USSD journey mix
(``bench/ussd.py``), then the inbound SMS webhook (``bench/sms.py``'s traffic; no worker
runs, so what is measured is store + enqueue). Reports requests/s, p50 and p99 per server and
the ratio to the bare endpoint in the same run, and CPU per request: the server's processes
(master and workers) plus Redis (the bare app uses none); nginx's own is left out, the same for all.

    .venv/bin/python bench/servers.py [--seconds 10] [--concurrency 16] [--workers 2] [--threads 4]
    .venv/bin/python bench/servers.py --quick      # 3 s per load (about a minute)

Figures are only worth comparing on a quiet machine: note ``uptime`` beside them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from harness import BARE_APP, CpuMeter, load, record, serve, stop, thusong_web
from sms import acknowledged, inbound_sms
from ussd import con_or_end, journeys

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TOKEN = "bench-token"


def measure(port: int, args, server_pid: int, redis_client=None) -> dict:
    """Both loads through ``port``, each with the server's CPU (and Redis') per request."""
    load(port, 1.0, args.concurrency, journeys, con_or_end)  # warm up: imports, gazetteer, connections
    results = {}
    for key, traffic, judge in (("ussd", journeys, con_or_end), ("sms", inbound_sms, acknowledged)):
        meter = CpuMeter(server_pid, redis_client)
        meter.start()
        r = load(port, args.seconds, args.concurrency, traffic, judge)
        r.update(meter.stop())
        r["cpu_us"] = (r["web_cpu_s"] + r["redis_cpu_s"]) / max(r["requests"], 1) * 1e6
        results[key] = r
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=None, help="load per endpoint and server (10; quick 3)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="worker processes, every server")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--quick", action="store_true", help="3 s per load")
    args = parser.parse_args()
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)

    from rich.console import Console
    from rich.table import Table

    from config import load_settings
    from gateway.cli.laptop import seed_if_empty
    from gateway.runtime import Runtime
    from gateway.store.engine import upgrade
    from tests.web.test_nginx_slowloris import running_nginx

    console = Console(width=200)
    folder = tempfile.mkdtemp(prefix="thusong-bench-servers-")
    settings = load_settings({"INSTANCE_PATH": folder, "WEBHOOK_TOKEN": TOKEN, "SECRET_KEY": "bench",
                              "LOG_LEVEL": "WARNING", "REDIS_URL": os.environ.get("REDIS_URL", ""),
                              "TRUSTED_PROXIES": "1"})
    rt = Runtime.from_settings(settings)
    w = str(args.workers)
    servers = [
        (f"gunicorn sync ×{w}", ["--server", "gunicorn", "--workers", w]),
        (f"gunicorn gthread ×{w}, {args.threads} threads", ["--server", "gunicorn", "--workers", w,
                                                            "--threads", str(args.threads)]),
        (f"granian ×{w} (default)", ["--server", "granian", "--workers", w]),
    ]
    results: dict[str, dict] = {}
    started = time.perf_counter()
    try:
        upgrade(rt.engine)
        seed_if_empty(rt)
        env = {**os.environ, **rt.child_environ(), "PYTHONPATH": str(ROOT)}
        Path(folder, "bare_app.py").write_text(BARE_APP)
        bare, bare_port = serve("bare_app:app", {**env, "PYTHONPATH": folder}, folder)
        try:
            prefix = Path(folder, "nginx-bare")
            prefix.mkdir()
            with running_nginx(bare_port, prefix) as port:
                results["bare Flask, gunicorn sync ×2 (baseline)"] = measure(port, args, bare.pid)
        finally:
            stop([bare])
        for label, server_args in servers:
            prefix = Path(folder, f"nginx-{len(results)}")
            prefix.mkdir()
            with ExitStack() as stack:
                web, app_port = stack.enter_context(thusong_web(env, server_args, str(ROOT)))
                port = stack.enter_context(running_nginx(app_port, prefix))
                results[label] = measure(port, args, web.pid, rt.redis)
            console.print(f"[dim]{label}: done[/dim]")
    finally:
        rt.close()
        shutil.rmtree(folder, ignore_errors=True)

    base = next(iter(results.values()))
    t = Table(title=f"Behind nginx, {args.concurrency} connections, {args.seconds:.0f} s per load")
    for col in ("server", "journeys req/s", "÷ bare", "p50 ms", "p99 ms", "CPU µs/hop",
                "SMS webhook req/s", "÷ bare", "p50 ms", "p99 ms", "CPU µs/SMS", "errors"):
        t.add_column(col, justify="left" if col == "server" else "right")
    for label, r in results.items():
        u, s = r["ussd"], r["sms"]
        t.add_row(label, f"{u['rps']:.0f}", f"{u['rps'] / base['ussd']['rps']:.2f}", f"{u['p50_ms']:.1f}",
                  f"{u['p99_ms']:.1f}", f"{u['cpu_us']:.0f}", f"{s['rps']:.0f}", f"{s['rps'] / base['sms']['rps']:.2f}",
                  f"{s['p50_ms']:.1f}", f"{s['p99_ms']:.1f}", f"{s['cpu_us']:.0f}", str(u["errors"] + s["errors"]))
    console.print(t)
    load1 = os.getloadavg()[0]
    console.print(f"[dim]took {time.perf_counter() - started:.0f} s; {os.cpu_count()} CPUs; load average "
                  f"{load1:.2f} at the end[/dim]")
    record("servers", [{"label": label, "ussd_rps": r["ussd"]["rps"], "ussd_ratio": r["ussd"]["rps"] / base["ussd"]["rps"],
                        "ussd_p99_ms": r["ussd"]["p99_ms"], "ussd_cpu_us": r["ussd"]["cpu_us"], "sms_rps": r["sms"]["rps"],
                        "sms_ratio": r["sms"]["rps"] / base["sms"]["rps"], "sms_p99_ms": r["sms"]["p99_ms"],
                        "sms_cpu_us": r["sms"]["cpu_us"], "errors": r["ussd"]["errors"] + r["sms"]["errors"]}
                       for label, r in results.items()], vars(args), "sqlite")
    if any(r["ussd"]["errors"] or r["sms"]["errors"] for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
