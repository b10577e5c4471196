"""The shipped nginx sites load in Debian 12's nginx (1.22): ``nginx -t`` on each, in a minimal
main config, with its certificate a self-signed one this test makes (openssl).

The TLS site once used ``http2 on`` (nginx 1.25+) and, once that was fixed, repeated
``location /`` in one server: it never loaded. Port 80 of both sites answers ACME's challenges
from /var/www/acme (the doc creates it), so the certificate can be had and renewed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITES = ROOT / "deploy" / "nginx"
PLAIN, TLS = SITES / "thusong.conf", SITES / "thusong-tls.conf"
NGINX = Path("/usr/sbin/nginx")
DOMAIN = "thusong.example.gov.za"
ACME = re.compile(r"^    location \^~ /\.well-known/acme-challenge/ \{\s*root /var/www/acme;\s*\}", re.MULTILINE)


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={DOMAIN}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def main_config(site: str, prefix: Path) -> Path:
    """The site with its logs and certificate paths in ``prefix``, inside nginx's http {}."""
    cert, key = self_signed(prefix)
    site = site.replace(f"/etc/letsencrypt/live/{DOMAIN}/fullchain.pem", str(cert))
    site = site.replace(f"/etc/letsencrypt/live/{DOMAIN}/privkey.pem", str(key))
    site = re.sub(r"/var/log/nginx/(thusong\.\w+\.log)", lambda m: str(prefix / m.group(1)), site)
    assert "/var/log/" not in site and "/etc/letsencrypt/" not in site
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                            "scgi"))
    conf = prefix / "nginx.conf"
    conf.write_text(f"pid {prefix / 'nginx.pid'};\nevents {{ worker_connections 64; }}\n"
                    f"http {{\n    access_log off;\n{temp}\n{site}\n}}\n")
    return conf


@pytest.mark.skipif(not NGINX.exists() or shutil.which("openssl") is None,
                    reason="Debian's nginx and openssl are required: `make nginx` installs nginx")
@pytest.mark.parametrize("site", [PLAIN, TLS], ids=lambda p: p.name)
def test_the_site_loads_in_debians_nginx(site, tmp_path):
    conf = main_config(site.read_text(), tmp_path)
    done = subprocess.run([str(NGINX), "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "test is successful" in done.stderr, done.stderr
    assert "[warn]" not in done.stderr and "[emerg]" not in done.stderr, done.stderr


def test_the_tls_site_serves_https_and_port_80_only_redirects_and_answers_acme():
    text = TLS.read_text()
    servers = re.split(r"^server \{", text, flags=re.MULTILINE)[1:]
    assert len(servers) == 2, "one server on 80 (ACME and the redirect), one on 443"
    plain80, tls = servers
    assert re.search(r"^    listen 80;$", plain80, re.MULTILINE) and "proxy_pass" not in plain80
    assert ACME.search(plain80) and re.search(r"location / \{\s*return 301 https://\$host\$request_uri;", plain80)
    assert re.search(r"^    listen 443 ssl http2;$", tls, re.MULTILINE), "nginx 1.22 has no `http2 on`"
    assert not re.search(r"^\s*http2 on;", text, re.MULTILINE) and ACME.search(PLAIN.read_text())
    assert f"ssl_certificate     /etc/letsencrypt/live/{DOMAIN}/fullchain.pem;" in tls


def test_the_tls_site_proxies_exactly_as_the_plain_site_does():
    """The two files must not drift: from ``server_tokens off;`` to the end of the server, the
    TLS site's 443 server is the plain site's, and the upstreams are the same."""
    plain, tls = PLAIN.read_text(), TLS.read_text()

    def proxying(text: str) -> str:
        return text[text.rindex("    server_tokens off;"):].rstrip()

    def upstreams(text: str) -> list[str]:
        return re.findall(r"^upstream \w+ \{.*?^\}", text, re.MULTILINE | re.DOTALL)

    assert proxying(plain) == proxying(tls)
    assert upstreams(plain) == upstreams(tls) and len(upstreams(tls)) == 2


def test_the_doc_creates_the_acme_folder_and_installs_the_tls_site():
    doc = (ROOT / "docs" / "operating.md").read_text()
    assert "install -d -m 0755 /var/www/acme" in doc
    assert "deploy/nginx/thusong-tls.conf /etc/nginx/sites-available/thusong" in doc
    assert f"certbot certonly --webroot -w /var/www/acme -d {DOMAIN}" in doc
