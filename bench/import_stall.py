"""USSD hops through nginx while an admin previews a 2 MB centres CSV: before and after the
preview moved to a worker and the webhooks to a web server of their own.

Each setup serves the real app as production does (``thusong web``, granian ×2, real Redis,
seeded centres; SQLite, or ``--database-url``) behind the shipped nginx site
(deploy/nginx/thusong.conf, Debian's nginx, run as tests/web/test_nginx_slowloris.py runs it),
and drives USSD journeys (``bench/ussd.py``'s traffic) through nginx with ``bench/harness.py``'s
load generator for ``--seconds``. One second in, an admin logs in through nginx and uploads a
2 MB CSV of new centres, each in a municipality of its own (the slowest shape: every new
municipality was a session flush); the preview is done when its page shows it.

- ``idle``: the current code, no upload: the hops' own figures on this machine at this time.
- ``before``: the code of ``--before-ref`` (a ``git archive`` of it), one web server for
  everything, the preview checked inside the upload's request on one of its workers.
- ``after``: this checkout: the webhooks on one web server, the dashboard on another (the
  site's two upstreams), and a ``thusong worker`` that runs the preview job.

Reports, per setup: USSD p50/p99/p99.9/slowest, requests, errors (no answer in 10 s, or a 5xx from
nginx) and how long the preview took. Figures are only worth comparing on a quiet machine:
note ``uptime`` beside them.

    .venv/bin/python bench/import_stall.py [--seconds 40] [--concurrency 8] [--size 2000000]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import requests
from harness import load, stop, thusong_web
from ussd import TOKEN, con_or_end, journeys

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BEFORE_REF = "394c051"  # the last commit with the preview inside the web request
EMAIL, PASSWORD = "bench-admin@example.org", "bench-password-long-enough"


def big_csv(size: int) -> str:
    """The seed's rows again and again, each a new centre in a new municipality, to ``size`` bytes."""
    from gateway.directory.centre_csv import SEED

    rows = list(csv.DictReader(io.StringIO(SEED.read_text(encoding="utf-8"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    n = 0
    while out.tell() < size:
        row = dict(rows[n % len(rows)])
        row["name"], row["municipality"] = f"{row['name']} {n}", f"{row['municipality'] or 'Municipality'} {n}"
        writer.writerow(row)
        n += 1
    return out.getvalue()


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def preview(port: int, text: str, result: dict) -> None:
    """Log in through nginx, upload ``text`` and wait for the preview; ``result['seconds']``."""
    base = f"http://127.0.0.1:{port}"
    web = requests.Session()
    login = web.get(f"{base}/staff/login", timeout=30).text
    web.post(f"{base}/staff/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": _csrf(login)},
             timeout=30)
    form = web.get(f"{base}/staff/centres/import", timeout=30).text
    started = time.perf_counter()
    page = web.post(f"{base}/staff/centres/import", data={"csrf_token": _csrf(form)},
                    files={"file": ("centres.csv", text.encode(), "text/csv")}, timeout=300)
    while "nothing is written yet" not in page.text:  # after: the job's page, until it is done
        if page.status_code != 200 or "http-equiv" not in page.text:  # nginx gave up (30 s), or an error
            result["seconds"], result["status"] = time.perf_counter() - started, f"HTTP {page.status_code}"
            return
        time.sleep(1)
        page = web.get(page.url, timeout=30)
    result["seconds"] = time.perf_counter() - started
    result["status"] = re.search(r"<p>(\d+ to add[^<]*)</p>", page.text).group(1)


def run(port: int, args, text: str | None) -> dict:
    load(port, 1.0, args.concurrency, journeys, con_or_end)  # warm up: gazetteer, caches
    result: dict = {}
    uploader = None
    if text is not None:
        uploader = threading.Timer(1.0, preview, args=(port, text, result))
        uploader.start()
    figures = load(port, args.seconds, args.concurrency, journeys, con_or_end)
    if uploader is not None:
        uploader.join()
    return {**figures, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="USSD load per setup")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--size", type=int, default=2_000_000, help="bytes of CSV")
    parser.add_argument("--before-ref", default=BEFORE_REF, help="git commit of the 'before' code")
    parser.add_argument("--database-url", default="", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()

    from config import load_settings
    from gateway.cli.laptop import seed_if_empty
    from gateway.runtime import Runtime
    from gateway.staff.accounts import add_staff
    from gateway.store.engine import upgrade
    from tests.web.test_nginx_slowloris import running_nginx

    folder = Path(tempfile.mkdtemp(prefix="thusong-bench-import-"))
    settings = load_settings({"INSTANCE_PATH": str(folder), "WEBHOOK_TOKEN": TOKEN, "SECRET_KEY": "bench",
                              "LOG_LEVEL": "WARNING", "REDIS_URL": os.environ.get("REDIS_URL", ""),
                              "DATABASE_URL": args.database_url, "TRUSTED_PROXIES": "1"})
    rt = Runtime.from_settings(settings)
    old = folder / "before"
    old.mkdir()
    subprocess.run(f"git -C {ROOT} archive {args.before_ref} | tar -x -C {old}", shell=True, check=True)
    text = big_csv(args.size)
    results: dict[str, dict] = {}
    try:
        upgrade(rt.engine)
        seed_if_empty(rt)
        add_staff(rt.sessions, EMAIL, "Bench", "admin", PASSWORD)
        env = {**os.environ, **rt.child_environ(), "PYTHONPATH": str(ROOT)}
        web_args = ["--workers", "2"]
        setups = [("idle", None, False), ("before", text, True), ("after", text, False)]
        for label, upload, before in setups:
            rt.redis.flushdb()
            prefix = folder / f"nginx-{label}"
            prefix.mkdir()
            with ExitStack() as stack:
                if before:  # the old code, one server for everything
                    old_env = {**env, "PYTHONPATH": str(old)}
                    _, hooks = stack.enter_context(thusong_web(old_env, web_args, str(old)))
                    staff = hooks
                else:
                    _, hooks = stack.enter_context(thusong_web(env, web_args, str(ROOT)))
                    _, staff = stack.enter_context(thusong_web(env, web_args, str(ROOT)))
                    worker = subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker"], cwd=ROOT, env=env)
                    stack.callback(stop, [worker])
                port = stack.enter_context(running_nginx(hooks, prefix, staff_port=staff))
                results[label] = run(port, args, upload)
            print(f"{label}: done", file=sys.stderr)
    finally:
        rt.close()
        shutil.rmtree(folder, ignore_errors=True)

    print(f"USSD journeys through nginx, {args.concurrency} connections, {args.seconds:.0f} s; "
          f"CSV {len(text) / 1e6:.1f} MB, {text.count(chr(10)) - 1} rows; database {rt.engine.dialect.name}")
    for label, r in results.items():
        took = f"preview {r['seconds']:.1f} s ({r['status']})" if "seconds" in r else "no upload"
        print(f"{label:7} p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:7.1f} ms  p99.9 {r['p999_ms']:7.1f} ms  "
              f"max {r['max_ms']:7.1f} ms  {r['requests']:5d} hops {r['errors']:3d} errors  {took}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
