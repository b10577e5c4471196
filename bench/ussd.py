"""USSD journeys through ``thusong web`` vs a bare Flask endpoint under gunicorn sync ×2, same run.

Starts the product as production runs it — ``thusong web`` (its default server, 2 workers; real
Redis, SQLite, seeded centres) — and a bare Flask app answering ``CON hello`` under gunicorn
(sync workers, 2), both on loopback, and drives each with the same concurrent load generator
(processes × threads, one TCP connection per request, as AT does) for the same time. The
product's load is whole journeys: dial, browse three deep, find by a typed town, pick a
centre, page with "more", go back, home. Reports, for each: requests/s, p50 and p99, and CPU
per request in µs — the server's processes (master and workers, from ``/proc/<pid>/stat``),
Redis (``INFO cpu``; the product only) and the load generator — with the ratios the
performance goals are stated in (throughput ≥ 0.8 of bare, p99 ≤ 1.5 × bare's p99).

``--flame FILE.svg`` also records the web workers with py-spy during the product's load
(``bench/flame-ussd.svg`` is the one kept in the repository; take it again when the hop
changes). Figures are only worth comparing on a quiet machine: note ``uptime`` beside them.

    .venv/bin/python bench/ussd.py [--seconds 10] [--concurrency 8] [--flame bench/flame-ussd.svg]
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import BARE_APP, CpuMeter, load, process_tree, record, serve, stop, thusong_web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TOKEN = "bench-token"
# Whole journeys, as key presses after the dial ("" = the dial itself).
JOURNEYS = [
    ["", "1", "Soweto", "1"],
    ["", "1", "Khayelitsa", "2"],
    ["", "2", "1", "1"],
    ["", "1", "Umtata", "1", "0", "00"],
    ["", "3"],
    ["", "2", "98", "0"],
]
GOAL_RATIO, GOAL_P99 = 0.8, 1.5


def journeys(worker: int, tid: int):
    """Hops of whole journeys, one session after another (each hop's ``text`` as AT sends it)."""
    for n in itertools.count():
        journey = JOURNEYS[n % len(JOURNEYS)]
        inputs: list[str] = []
        for key in journey:
            if key:
                inputs.append(key)
            yield f"/webhooks/at/ussd?token={TOKEN}", {
                "sessionId": f"b{worker}-{tid}-{n}", "serviceCode": "*134*1234#",
                "phoneNumber": f"+2782{worker:02d}{tid:02d}{n % 1000:03d}", "networkCode": "65501",
                "text": "*".join(inputs)}


def con_or_end(status: int, body: bytes) -> tuple[str, ...]:
    return ("ok",) if status == 200 and body[:4] in (b"CON ", b"END ") else ("errors",)


def measured(server_pid: int, redis_client, port: int, args, flame: str | None = None) -> dict:
    """One load on ``port`` with the server's (and Redis') CPU counted over it."""
    meter = CpuMeter(server_pid, redis_client)
    recorder = _flame(server_pid, flame, args.seconds) if flame else None
    meter.start()
    result = load(port, args.seconds, args.concurrency, journeys, con_or_end)
    result.update(meter.stop())
    if recorder is not None:
        recorder.wait(timeout=60)
    return result


def _flame(server_pid: int, out: str, seconds: float) -> subprocess.Popen:
    """py-spy recording the server's workers for the load's duration (idle time left out)."""
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        sys.exit("--flame needs py-spy (pip install py-spy)")
    workers = [p for p in process_tree(server_pid) if p != server_pid]
    cmd = [py_spy, "record", "--format", os.environ.get("FLAME_FORMAT", "flamegraph"), "--output", out, "--rate", "250",
           *os.environ.get("FLAME_EXTRA", "").split(),
           "--duration", str(max(1, int(seconds) - 1)), "--nonblocking"]
    # py-spy records one process tree: the master with --subprocesses covers every worker.
    return subprocess.Popen([*cmd, "--subprocesses", "--pid", str(server_pid)] if workers else
                            [*cmd, "--pid", str(server_pid)], stdout=subprocess.DEVNULL)


def per_request_us(r: dict) -> dict[str, float]:
    n = max(r["requests"], 1)
    return {"web": r["web_cpu_s"] / n * 1e6, "redis": r["redis_cpu_s"] / n * 1e6,
            "client": r["client_cpu_s"] / n * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--server", choices=["gunicorn", "granian"], help="thusong web's server (default: its default)")
    parser.add_argument("--threads", type=int, help="thusong web --threads (default: its default)")
    parser.add_argument("--flame", metavar="SVG", help="also record a flame graph of the product's workers")
    args = parser.parse_args()

    from config import load_settings
    from gateway.cli.laptop import seed_if_empty
    from gateway.runtime import Runtime
    from gateway.store.engine import upgrade

    folder = tempfile.mkdtemp(prefix="thusong-bench-ussd-")
    settings = load_settings({"INSTANCE_PATH": folder, "WEBHOOK_TOKEN": TOKEN, "SECRET_KEY": "bench",
                              "LOG_LEVEL": "WARNING", "REDIS_URL": os.environ.get("REDIS_URL", "")})
    rt = Runtime.from_settings(settings)
    servers: list[subprocess.Popen] = []
    try:
        upgrade(rt.engine)
        seed_if_empty(rt)
        # The checkout first, after any path the caller set (to measure other library versions).
        path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p)
        env = {**os.environ, **rt.child_environ(), "PYTHONPATH": path}
        Path(folder, "bare_app.py").write_text(BARE_APP)
        bare_proc, bare_port = serve("bare_app:app", {**env, "PYTHONPATH": folder}, folder)
        servers.append(bare_proc)
        web_args = ["--workers", "2", *(["--server", args.server] if args.server else []),
                    *(["--threads", str(args.threads)] if args.threads else [])]
        with thusong_web(env, web_args, str(ROOT)) as (real_proc, real_port):
            load(real_port, 1.0, args.concurrency, journeys, con_or_end)  # warm up: gazetteer, caches
            load(bare_port, 1.0, args.concurrency, journeys, con_or_end)
            bare = measured(bare_proc.pid, None, bare_port, args)
            real = measured(real_proc.pid, rt.redis, real_port, args, args.flame)
        for label, r in (("bare Flask, gunicorn sync ×2", bare), (f"USSD journeys, thusong web {args.server or ''}", real)):
            cpu = per_request_us(r)
            print(f"{label:29} {r['rps']:7.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms"
                  f"  CPU/request: server {cpu['web']:5.0f} µs, Redis {cpu['redis']:4.0f} µs,"
                  f" load generator {cpu['client']:5.0f} µs  ({r['requests']} requests, {r['errors']} errors)")
        ratio = real["rps"] / bare["rps"]
        p99 = real["p99_ms"] / bare["p99_ms"]
        hop, base = per_request_us(real), per_request_us(bare)
        print(f"throughput ratio {ratio:.2f} (goal ≥ {GOAL_RATIO}); p99 {p99:.2f} × bare's (goal ≤ {GOAL_P99});"
              f" server + Redis CPU per hop {hop['web'] + hop['redis']:.0f} µs vs {base['web']:.0f} µs bare"
              f" ({(hop['web'] + hop['redis']) / base['web']:.2f}×); load average {os.getloadavg()[0]:.2f}")
        if args.flame:
            print(f"flame graph: {args.flame}")
        record("ussd", [{"ratio": ratio, "p99_ratio": p99, "cpu_ratio": (hop["web"] + hop["redis"]) / base["web"],
                         "rps": real["rps"], "bare_rps": bare["rps"], "p99_ms": real["p99_ms"],
                         "bare_p99_ms": bare["p99_ms"], "cpu_us": hop["web"] + hop["redis"], "bare_cpu_us": base["web"],
                         "errors": real["errors"] + bare["errors"]}],
               vars(args), "sqlite", {"real": real, "bare": bare})
        if real["errors"] or bare["errors"]:
            sys.exit(1)
    finally:
        stop(servers)
        rt.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
