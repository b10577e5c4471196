"""USSD webhook under gunicorn (sync workers, 2) vs a bare Flask endpoint, same run.

Starts two gunicorn servers on loopback — the real app (real Redis, SQLite, seeded centres)
and a bare Flask app answering ``CON hello`` — and drives each with the same concurrent load
generator (processes × threads, one TCP connection per request, as AT does) for the same time.
The real app's load is whole journeys: dial, find by place, pick a centre, page, back, home.
Reports throughput, p50 and p99 for each and the throughput ratio (goal ≥ 0.65, p99 ≤ 20 ms).

    .venv/bin/python bench/ussd.py [--seconds 10] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

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

BARE_APP = '''
from flask import Flask, Response
app = Flask(__name__)

@app.post("/webhooks/at/ussd")
def hop():
    return Response("CON hello", mimetype="text/plain")
'''


def _gunicorn(app_spec: str, port: int, env: dict, cwd: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}",
           "--log-level", "warning", app_spec]
    return subprocess.Popen(cmd, env=env, cwd=cwd)


def _wait(port: int) -> None:
    for _ in range(200):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


def _client(port: int, seconds: float, worker: int, threads: int, out) -> None:
    import threading

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    counter = itertools.count()

    def run(tid: int) -> None:
        local, bad = [], 0
        n = 0
        while time.perf_counter() < deadline:
            journey = JOURNEYS[next(counter) % len(JOURNEYS)]
            session = f"b{worker}-{tid}-{n}"
            n += 1
            inputs: list[str] = []
            for key in journey:
                if key:
                    inputs.append(key)
                body = urllib.parse.urlencode({
                    "sessionId": session, "serviceCode": "*134*1234#",
                    "phoneNumber": f"+2782{worker:02d}{tid:02d}{n % 1000:03d}", "networkCode": "65501",
                    "text": "*".join(inputs)})
                t0 = time.perf_counter()
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    conn.request("POST", f"/webhooks/at/ussd?token={TOKEN}", body,
                                 {"Content-Type": "application/x-www-form-urlencoded"})
                    resp = conn.getresponse()
                    text = resp.read()
                    conn.close()
                    if resp.status != 200 or text[:4] not in (b"CON ", b"END "):
                        bad += 1
                except OSError:
                    bad += 1
                local.append(time.perf_counter() - t0)
                if time.perf_counter() >= deadline:
                    break
        with lock:
            latencies.extend(local)
            errors[0] += bad

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put((latencies, errors[0]))


def load(port: int, seconds: float, concurrency: int) -> dict:
    procs_n = max(1, min(4, concurrency // 2))
    threads = max(1, concurrency // procs_n)
    q: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_client, args=(port, seconds, w, threads, q)) for w in range(procs_n)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - start
    lat = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    return {
        "requests": len(lat), "errors": errors, "rps": len(lat) / wall,
        "p50_ms": statistics.median(lat) * 1000 if lat else float("nan"),
        "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000 if lat else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    from config import load_settings
    from gateway.db import upgrade
    from gateway.laptop import seed_if_empty
    from gateway.runtime import Runtime

    folder = tempfile.mkdtemp(prefix="thusong-bench-ussd-")
    settings = load_settings({"INSTANCE_PATH": folder, "WEBHOOK_TOKEN": TOKEN, "SECRET_KEY": "bench",
                              "LOG_LEVEL": "WARNING", "REDIS_URL": os.environ.get("REDIS_URL", "")})
    rt = Runtime.from_settings(settings)
    servers: list[subprocess.Popen] = []
    try:
        upgrade(rt.engine)
        seed_if_empty(rt)
        env = {**os.environ, **rt.child_environ(), "PYTHONPATH": str(ROOT)}
        Path(folder, "bare_app.py").write_text(BARE_APP)
        real_port, bare_port = 5391, 5392
        servers.append(_gunicorn("gateway.web.wsgi:app", real_port, env, str(ROOT)))
        servers.append(_gunicorn("bare_app:app", bare_port, {**env, "PYTHONPATH": folder}, folder))
        _wait(real_port)
        # the bare app has no /healthz: wait for its port by posting
        for _ in range(200):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", bare_port, timeout=1)
                conn.request("POST", "/webhooks/at/ussd", "")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.05)
        load(real_port, 1.0, args.concurrency)  # warm up: gazetteer, caches, connections
        bare = load(bare_port, args.seconds, args.concurrency)
        real = load(real_port, args.seconds, args.concurrency)
        for label, r in (("bare Flask endpoint", bare), ("USSD webhook (journeys)", real)):
            print(f"{label:26} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms"
                  f"  ({r['requests']} requests, {r['errors']} errors)")
        ratio = real["rps"] / bare["rps"]
        print(f"throughput ratio {ratio:.2f} (goal ≥ 0.65); USSD p99 {real['p99_ms']:.1f} ms (goal ≤ 20 ms)")
    finally:
        for s in servers:
            s.terminate()
        for s in servers:
            s.wait(timeout=10)
        rt.close()


if __name__ == "__main__":
    main()
