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
import itertools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import BARE_APP, load, serve_real_and_bare, stop

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
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
        env = {**os.environ, **rt.child_environ(), "PYTHONPATH": str(ROOT)}
        servers, real_port, bare_port = serve_real_and_bare(str(ROOT), folder, BARE_APP, env)
        load(real_port, 1.0, args.concurrency, journeys, con_or_end)  # warm up: gazetteer, caches
        bare = load(bare_port, args.seconds, args.concurrency, journeys, con_or_end)
        real = load(real_port, args.seconds, args.concurrency, journeys, con_or_end)
        for label, r in (("bare Flask endpoint", bare), ("USSD webhook (journeys)", real)):
            print(f"{label:26} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms"
                  f"  ({r['requests']} requests, {r['errors']} errors)")
        ratio = real["rps"] / bare["rps"]
        print(f"throughput ratio {ratio:.2f} (goal ≥ 0.65); USSD p99 {real['p99_ms']:.1f} ms (goal ≤ 20 ms)")
    finally:
        stop(servers)
        rt.close()

if __name__ == "__main__":
    main()
