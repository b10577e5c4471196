"""What the HTTP benchmarks share: gunicorn servers on loopback and a load generator.

:func:`serve` starts an app under gunicorn (sync workers, 2) on a free port and waits until its
``/healthz`` answers (:func:`serve_real_and_bare`: the product beside a bare Flask baseline);
:func:`stop` ends server or worker processes; :data:`BARE_APP` is the baseline app and
:class:`PipedProcess` runs the fake AT in a process of its own. :func:`load` drives a port
from processes × threads for a time, one TCP connection per request as AT does, and reports
requests/s, p50, p99, p99.9 and the slowest, what the responses were and the load generator's own CPU; :class:`CpuMeter`
says how much CPU a server's processes (and Redis) spent meanwhile, and :func:`thusong_web` serves
the product as production does. The traffic is a module-level function
``traffic(worker, thread)`` yielding ``(path, form)`` forever, and ``judge(status, body)``
names the counters a response adds to ("ok", "errors", …); both must be picklable.

:func:`record` is how every script ends: its measured figures as a small JSON record in
``bench/results/`` (or ``BENCH_RESULTS``), with the date, the code's commit, the load average
when the script began and when it ended, the options and the database; ``bench/tables.py`` makes
the tables in ``docs/benchmarks.md`` from those records.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import math
import multiprocessing as mp
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
# When the script began: every bench script imports this module first (its record's "before").
STARTED = (datetime.now(UTC), os.getloadavg())

# The baseline every HTTP benchmark compares against: Flask answering each webhook at once.
BARE_APP = '''
from flask import Flask, Response, jsonify
app = Flask(__name__)

@app.get("/healthz")
def health():
    return "ok"

@app.post("/webhooks/at/ussd")
def hop():
    return Response("CON hello", mimetype="text/plain")

@app.post("/webhooks/at/sms")
def sms():
    return jsonify(ok=True, duplicate=False)
'''


class PipedProcess:
    """A helper process (the fake AT) driven over a pipe: ``target(conn)`` sends its base URL
    first, then answers each command :meth:`ask` sends until 'stop'. Its own process, so that
    neither the load generator nor the bench shares its GIL."""

    def __init__(self, target):
        self._target = target

    def __enter__(self):
        self._conn, child = mp.Pipe()
        self._proc = mp.Process(target=self._target, args=(child,), daemon=True)
        self._proc.start()
        self.base_url = self._conn.recv()
        return self

    def ask(self, cmd: str):
        self._conn.send(cmd)
        return self._conn.recv()

    def __exit__(self, *exc) -> None:
        try:
            self._conn.send("stop")
        except OSError:
            pass
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join()


def serve_fake_at(conn, answer) -> None:
    """A :class:`PipedProcess` target's body: the fake AT (``tests/fake_at.py``) on loopback,
    its base URL sent first, then ``answer(fake, command)`` sent back for each command until
    'stop'. ``answer`` takes ``fake._lock`` while it reads ``fake.requests``."""
    from tests.fake_at import FakeAT

    with FakeAT() as fake:
        # http.server writes headers and body separately; on a kept-alive connection Nagle plus
        # the client's delayed ACK would add ~40 ms per answer, which real AT does not.
        fake._server.RequestHandlerClass.disable_nagle_algorithm = True
        conn.send(fake.base_url)
        while (command := conn.recv()) != "stop":
            conn.send(answer(fake, command))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app_spec: str, env: dict, cwd: str) -> tuple[subprocess.Popen, int]:
    """gunicorn (sync workers, 2) serving ``app_spec`` on a free loopback port, once it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-k", "sync",
                             "-b", f"127.0.0.1:{port}", "--log-level", "warning", app_spec], env=env, cwd=cwd)
    for _ in range(400):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    stop([proc])
    raise RuntimeError(f"{app_spec} did not start on {port}")


def serve_real_and_bare(root: str, folder: str, bare_app_source: str, env: dict) -> tuple[list, int, int]:
    """The product (``gateway.web.wsgi:app``) and a bare Flask app written to ``folder``, both
    under the same gunicorn settings: (processes, real port, bare port)."""
    from pathlib import Path

    Path(folder, "bare_app.py").write_text(bare_app_source)
    real, real_port = serve("gateway.web.wsgi:app", env, root)
    try:
        bare, bare_port = serve("bare_app:app", {**env, "PYTHONPATH": folder}, folder)
    except RuntimeError:
        stop([real])
        raise
    return [real, bare], real_port, bare_port


@contextmanager
def thusong_web(env: dict, args: list[str], cwd: str):
    """``thusong web`` with ``args`` on a free loopback port, once ``/healthz`` answers 200:
    yields ``(process, port)``."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "web", "--port", str(port), *args],
                            cwd=cwd, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"thusong web {' '.join(args)} did not start")
            time.sleep(0.05)
        yield proc, port
    finally:
        stop([proc])


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (a server's master and its workers)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # gone (a worker recycled): its CPU is lost to the count, not double-counted
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def redis_cpu_seconds(client) -> float:
    """CPU seconds the Redis server behind ``client`` has used so far (user + system, ``INFO cpu``)."""
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class CpuMeter:
    """CPU seconds spent by a server's process tree (user + system, from ``/proc/<pid>/stat``)
    and, when given a client, by the Redis server it uses (``INFO cpu``), between
    :meth:`start` and :meth:`stop`. The tree is read at the start: workers must be up."""

    def __init__(self, server_pid: int, redis_client=None):
        self._pid, self._redis = server_pid, redis_client

    def _read(self) -> tuple[dict[int, float], float]:
        redis_s = redis_cpu_seconds(self._redis) if self._redis is not None else 0.0
        return {p: _cpu_seconds(p) for p in process_tree(self._pid)}, redis_s

    def start(self) -> None:
        self._before = self._read()

    def stop(self) -> dict:
        (procs0, redis0), (procs1, redis1) = self._before, self._read()
        web = sum(procs1.get(p, 0.0) - t for p, t in procs0.items())
        return {"web_cpu_s": web, "redis_cpu_s": redis1 - redis0}


def stop(procs: list[subprocess.Popen], timeout: float = 15) -> None:
    """Terminate, wait, and kill what does not stop in time."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _client(port: int, seconds: float, traffic, judge, worker: int, threads: int, out) -> None:
    latencies: list[float] = []
    counts: Counter = Counter()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def run(tid: int) -> None:
        local: list[float] = []
        seen: Counter = Counter()
        for path, form in traffic(worker, tid):
            if time.perf_counter() >= deadline:
                break
            body = urllib.parse.urlencode(form)
            t0 = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                seen.update(judge(resp.status, data))
            except (OSError, ValueError):
                seen["errors"] += 1
            local.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(local)
            counts.update(seen)

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put((latencies, counts))


def load(port: int, seconds: float, concurrency: int, traffic, judge) -> dict:
    """Drive ``port`` with ``concurrency`` connections for ``seconds``: req/s, p50/p99, counters."""
    procs_n = max(1, min(4, concurrency // 2))
    threads = max(1, concurrency // procs_n)
    q: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_client, args=(port, seconds, traffic, judge, w, threads, q))
             for w in range(procs_n)]
    start = time.perf_counter()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    lat = sorted(x for r in results for x in r[0])
    counts: Counter = Counter()
    for r in results:
        counts.update(r[1])
    return {
        **counts, "errors": counts["errors"], "requests": len(lat), "rps": len(lat) / wall,
        "client_cpu_s": client_cpu,
        "p50_ms": statistics.median(lat) * 1000 if lat else float("nan"),
        "p99_ms": lat[max(int(len(lat) * 0.99) - 1, 0)] * 1000 if lat else float("nan"),
        "p999_ms": lat[max(int(len(lat) * 0.999) - 1, 0)] * 1000 if lat else float("nan"),
        "max_ms": lat[-1] * 1000 if lat else float("nan"),
    }


# --- the record a run leaves --------------------------------------------------------------------

def database_kind(url: str | None) -> str:
    """'sqlite' or 'postgresql' (a URL's scheme without its driver; none: SQLite, the default)."""
    return (url or "sqlite").split(":", 1)[0].split("+", 1)[0]


def code_version(root: Path = ROOT) -> str:
    """The commit checked out, plus ``+`` and a hash of the uncommitted changes when there are any
    (records and docs left out), so runs of the same code group together; 'unknown' without git."""
    def git(*args: str) -> bytes:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, check=True, timeout=30).stdout

    try:
        head = git("rev-parse", "--short=12", "HEAD").decode().strip()
        diff = git("diff", "HEAD", "--binary", "--", ".", ":(exclude)bench/results", ":(exclude)docs")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}+{hashlib.sha1(diff).hexdigest()[:8]}" if diff else head


def _plain(value):
    """JSON-ready: floats to 6 significant digits, NaN and infinities as null."""
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def record(name: str, rows: list[dict], options: dict, database: str, meta: dict | None = None) -> Path:
    """Write one run's figures to ``bench/results/<name>-<YYYYMMDDTHHMMSS>.json`` (``BENCH_RESULTS``
    names another folder) and say where. ``rows`` hold exactly the figures the docs' table for
    ``name`` shows (one dict per row, with ``label`` where a run has several); ``options`` the
    parsed command line (runs with equal options, database and code are one group, and
    ``bench/tables.py`` reports a group's median); ``meta`` anything else worth keeping."""
    folder = Path(os.environ.get("BENCH_RESULTS") or RESULTS)
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    started, load_before = STARTED
    data = _plain({
        "script": name, "date_utc": now.isoformat(timespec="seconds"),
        "started_utc": started.isoformat(timespec="seconds"), "commit": code_version(),
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "argv": sys.argv[1:], "options": options, "database": database,
        "redis": "REDIS_URL" if os.environ.get("REDIS_URL") else "embedded", "rows": rows, "meta": meta or {},
    })
    path = folder / f"{name}-{now:%Y%m%dT%H%M%S}.json"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{name}-{now:%Y%m%dT%H%M%S}-{n}.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n")
    print(f"recorded: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path
