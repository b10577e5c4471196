"""Slow clients against gunicorn's sync workers, without and with the shipped nginx site in
front (deploy/nginx/thusong.conf, run by Debian's real nginx; `make test` installs it).

Two connections that send their headers a byte a second take both sync workers, and a USSD
hop waits until they give up (31 s in issue 9; AT stops listening after ~10 s). Behind nginx,
which reads whole requests before passing them on, the same attack leaves hops unaffected.
Costs about 8 s: gunicorn and nginx start, a 3 s hop that times out, a fast one.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import TOKEN
from tests.live import free_port, http, thusong_web
from tests.workers import ROOT, wait_until

pytestmark = pytest.mark.slow

NGINX = Path("/usr/sbin/nginx")
SITE = ROOT / "deploy" / "nginx" / "thusong.conf"
HOP = {"sessionId": "SLOW-1", "serviceCode": "*134*1234#", "phoneNumber": "+27821234567",
       "networkCode": "65501", "text": ""}


def nginx_config(app_port: int, listen_port: int, prefix: Path, staff_port: int | None = None) -> str:
    """The shipped site with its upstream and listen ports changed (webhooks to ``app_port``, the
    rest to ``staff_port``, the same server if None) and its logs in ``prefix``, in a minimal
    main config."""
    site = SITE.read_text()
    site, webhooks = re.subn(r"server 127\.0\.0\.1:8001;", f"server 127.0.0.1:{app_port};", site)
    site, staff = re.subn(r"server 127\.0\.0\.1:8002;", f"server 127.0.0.1:{staff_port or app_port};", site)
    site, listens = re.subn(r"^\s*listen 80;$", f"    listen 127.0.0.1:{listen_port};", site, flags=re.M)
    site = re.sub(r"^\s*listen \[::\]:80;$", "", site, flags=re.M)  # no IPv6 needed in a test
    site = site.replace("/var/log/nginx/thusong.access.log", str(prefix / "access.log"))
    site, error_logs = re.subn(r"error_log /var/log/nginx/thusong\.error\.log;", f"error_log {prefix / 'site-error.log'};",
                               site)
    assert (webhooks, staff, listens, error_logs) == (1, 1, 1, 1), \
        "deploy/nginx/thusong.conf no longer has the expected shape"
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""
user root;
worker_processes 1;
pid {prefix / 'nginx.pid'};
events {{ worker_connections 256; }}
http {{
    access_log off;
{temp}
{site}
}}
"""


@contextmanager
def running_nginx(app_port: int, prefix: Path, staff_port: int | None = None):
    """Real nginx in the foreground in front of ``app_port`` (and ``staff_port``): yields its
    port. Its main error log (the host's error.log) is ``prefix``/error.log."""
    assert NGINX.exists(), "Debian nginx is required: `make nginx` installs it (apt-get install nginx)"
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(app_port, port, prefix, staff_port))
    errors = prefix / "error.log"
    proc = subprocess.Popen([str(NGINX), "-p", str(prefix), "-c", str(conf), "-e", str(errors),
                             "-g", "daemon off;"])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None, errors.read_text() if errors.exists() else "nginx exited"
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def slow_headers(port: int, connections: int = 2):
    """Slowloris: ``connections`` clients that start a request and send one header byte a second."""
    stop = threading.Event()
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(connections)]
    started = [threading.Event() for _ in socks]

    def drip(sock: socket.socket, begun: threading.Event) -> None:
        try:
            sock.sendall(b"POST /webhooks/at/ussd HTTP/1.1\r\nHost: x\r\n")
            begun.set()
            while not stop.wait(1):
                sock.sendall(b"X")
        except OSError:
            pass  # nginx hung up on us: that is its job

    threads = [threading.Thread(target=drip, args=(s, e), daemon=True) for s, e in zip(socks, started, strict=True)]
    for t in threads:
        t.start()
    for begun in started:  # each has begun its request: connected and its first bytes sent
        assert begun.wait(10)
    try:
        yield
    finally:
        stop.set()
        for s in socks:
            s.close()
        for t in threads:
            t.join(2)


def timed_hop(port: int, timeout: float) -> tuple[float, str]:
    """Seconds one USSD hop took, and what came back ("timed out" if nothing did)."""
    t0 = time.monotonic()
    try:
        status, body = http(port, "POST", f"/webhooks/at/ussd?token={TOKEN}", HOP, timeout=timeout)
        outcome = f"{status} {body[:12]}"
    except TimeoutError:
        outcome = "timed out"
    return time.monotonic() - t0, outcome


def test_slow_clients_block_bare_gunicorn_but_not_gunicorn_behind_nginx(rt, settings, tmp_path):
    with thusong_web(settings, workers=2, server="gunicorn", TRUSTED_PROXIES=1) as app_port, \
            running_nginx(app_port, tmp_path) as nginx_port:
        warm = [threading.Thread(target=timed_hop, args=(nginx_port, 5)) for _ in range(4)]
        for t in warm:  # at once, so both workers answer one: nothing below is a cold start
            t.start()
        for t in warm:
            t.join()

        with slow_headers(app_port):
            bare, bare_outcome = timed_hop(app_port, timeout=3)
        with slow_headers(nginx_port):
            proxied, proxied_outcome = timed_hop(nginx_port, timeout=3)

        print(f"\nUSSD hop during a 2-connection slow-header attack: gunicorn alone {bare:.2f}s "
              f"({bare_outcome}); behind nginx {proxied:.3f}s ({proxied_outcome})")
        assert bare_outcome == "timed out" or bare > 2, (bare, bare_outcome)
        assert proxied < 1 and proxied_outcome.startswith("200 CON"), (proxied, proxied_outcome)


def test_nginx_refuses_an_oversized_body_and_logs_no_token(rt, settings, tmp_path):
    """Also: the access log names the path, never the ?token= secret (nginx's default format
    wrote the whole request line)."""
    with thusong_web(settings, workers=1) as app_port, running_nginx(app_port, tmp_path) as nginx_port:
        with socket.create_connection(("127.0.0.1", nginx_port), timeout=5) as sock:
            sock.sendall(f"POST /webhooks/at/sms?token={TOKEN} HTTP/1.1\r\nHost: x\r\n"
                         f"Content-Type: application/x-www-form-urlencoded\r\n"
                         f"Content-Length: {10 * 1024 * 1024}\r\n\r\n".encode())
            assert sock.recv(64).startswith(b"HTTP/1.1 413")
        assert http(nginx_port, "POST", f"/webhooks/at/ussd?token={TOKEN}", HOP)[0] == 200
    logged = (tmp_path / "access.log").read_text()
    assert '"POST /webhooks/at/ussd HTTP/1.1" 200' in logged and TOKEN not in logged, logged


def test_an_upstream_error_with_the_token_goes_to_the_sites_own_error_log(tmp_path):
    """nginx's error line for a failed upstream quotes the request, ?token= and all: it must land
    in the site's error_log (root/adm only, docs/operating.md), not in the host's error.log,
    and the access log still names the path only."""
    dead = free_port()  # nobody listens: every request is a 502 and an error line
    with running_nginx(dead, tmp_path) as nginx_port:
        assert http(nginx_port, "POST", f"/webhooks/at/ussd?token={TOKEN}", HOP)[0] == 502
        site_log = tmp_path / "site-error.log"
        wait_until(lambda: site_log.exists() and "connect() failed" in site_log.read_text(), timeout=10)
    assert TOKEN in site_log.read_text()  # why the file is kept from everyone but root and adm
    host_log = tmp_path / "error.log"
    assert TOKEN not in (host_log.read_text() if host_log.exists() else "")
    assert TOKEN not in (tmp_path / "access.log").read_text()


def test_webhooks_and_the_dashboard_reach_different_servers(tmp_path):
    """The site's routing, with two stand-in servers that answer with their own name."""
    with stand_in("webhooks") as hooks, stand_in("staff") as staff, \
            running_nginx(hooks, tmp_path, staff_port=staff) as port:
        for path, name in (("/webhooks/at/ussd?token=x", "webhooks"), ("/webhooks/at/sms", "webhooks"),
                           ("/livez", "webhooks"), ("/healthz", "webhooks"), ("/staff/", "staff"),
                           ("/staff/centres/import", "staff"), ("/metrics", "staff"), ("/", "staff")):
            assert http(port, "GET", path) == (200, name), path


@contextmanager
def stand_in(name: str):
    """An HTTP server on a free loopback port answering every request with ``name``."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(name)))
            self.end_headers()
            self.wfile.write(name.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
