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
from tests.workers import ROOT

pytestmark = pytest.mark.slow

NGINX = Path("/usr/sbin/nginx")
SITE = ROOT / "deploy" / "nginx" / "thusong.conf"
HOP = {"sessionId": "SLOW-1", "serviceCode": "*134*1234#", "phoneNumber": "+27821234567",
       "networkCode": "65501", "text": ""}


def nginx_config(app_port: int, listen_port: int, prefix: Path) -> str:
    """The shipped site with its upstream and listen ports changed, in a minimal main config."""
    site = SITE.read_text()
    site, upstreams = re.subn(r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{app_port};", site)
    site, listens = re.subn(r"^\s*listen 80;$", f"    listen 127.0.0.1:{listen_port};", site, flags=re.M)
    site = re.sub(r"^\s*listen \[::\]:80;$", "", site, flags=re.M)  # no IPv6 needed in a test
    site = site.replace("/var/log/nginx/thusong.access.log", str(prefix / "access.log"))
    assert upstreams == 1 and listens == 1, "deploy/nginx/thusong.conf no longer has the expected shape"
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
def running_nginx(app_port: int, prefix: Path):
    """Real nginx in the foreground in front of ``app_port``: yields its port."""
    assert NGINX.exists(), "Debian nginx is required: `make nginx` installs it (apt-get install nginx)"
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(app_port, port, prefix))
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

    def drip(sock: socket.socket) -> None:
        try:
            sock.sendall(b"POST /webhooks/at/ussd HTTP/1.1\r\nHost: x\r\n")
            while not stop.wait(1):
                sock.sendall(b"X")
        except OSError:
            pass  # nginx hung up on us: that is its job

    threads = [threading.Thread(target=drip, args=(s,), daemon=True) for s in socks]
    for t in threads:
        t.start()
    time.sleep(0.5)  # let the server accept them
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
