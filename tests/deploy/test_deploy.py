"""What ships in ``deploy/``: the systemd units pass ``systemd-analyze verify`` and are
hardened; the environment template names every setting with its help."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from config import Settings, env_template

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
TEMPLATE = ROOT / "deploy" / "thusong.env.template"
HARDENING = ("User=thusong", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
             "ReadWritePaths=/var/lib/thusong", "CapabilityBoundingSet=\n", "EnvironmentFile=/etc/thusong/thusong.env")
UNIT_NAMES = ["thusong-migrate.service", "thusong-web@.service", "thusong-worker@.service"]


@pytest.mark.parametrize("name", UNIT_NAMES)
def test_unit_is_hardened(name):
    text = (UNITS / name).read_text()
    for line in HARDENING:
        assert line in text, f"{name}: {line.strip()} missing"
    if name != "thusong-migrate.service":  # the schema is at head before anything serves (and below)
        assert "After=thusong-migrate.service" in text
    else:
        assert "Type=oneshot" in text


@pytest.mark.parametrize("name", ["thusong-web@.service", "thusong-worker@.service"])
def test_restarting_the_migration_never_restarts_the_fleet(name):
    """The upgrade restarts thusong-migrate; a ``Requires=`` (or ``BindsTo=``/``PartOf=``) on it
    restarted every web server and worker with it. ``Wants=`` pulls the migration in when a
    server starts and ``After=`` orders it first, and neither passes a stop or restart on."""
    text = (UNITS / name).read_text()
    deps = dict(re.findall(r"^(\w+)=(.*thusong-migrate\.service.*)$", text, re.MULTILINE))
    assert set(deps) == {"Wants", "After"}, deps


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed (apt-get install systemd)")
@pytest.mark.parametrize("name", UNIT_NAMES)
def test_unit_passes_systemd_analyze_verify(name, tmp_path):
    """verify also checks ExecStart= is executable: the copy points /opt/thusong at this
    checkout, whose .venv has the `thusong` script. Unknown keys are only warnings (exit 0),
    so any output at all fails the test."""
    for unit in UNITS.glob("*.service"):
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/thusong", str(ROOT)))
    done = subprocess.run(["systemd-analyze", "verify", str(tmp_path / name)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), done.stderr + done.stdout


def test_env_template_names_every_setting_with_its_help():
    text = TEMPLATE.read_text()
    missing = [f.name for f in fields(Settings) if f"\n# {f.name}=" not in text]
    assert not missing, f"deploy/thusong.env.template lacks {missing}: run `thusong config --template`"
    for f in fields(Settings):
        assert f"# {f.metadata['help']}\n# {f.name}=" in text, f"{f.name}: help missing or stale"
    assert text == env_template(), "regenerate: thusong config --template > deploy/thusong.env.template"


@pytest.mark.slow
def test_nginx_proxies_to_the_ports_the_web_units_listen_on():
    """They disagreed once (8000 and 5000): every request through nginx was a 502. The web unit
    is a template whose instance is its port; nginx's two upstreams are the instances the docs
    and the units' install lines enable (webhooks on one, the dashboard on the other)."""
    site = (ROOT / "deploy/nginx/thusong.conf").read_text()
    upstreams = dict(re.findall(r"upstream (thusong_\w+) \{\s*server 127\.0\.0\.1:(\d+);", site))
    assert set(upstreams) == {"thusong_webhooks", "thusong_staff"} and len(set(upstreams.values())) == 2, upstreams
    unit = (UNITS / "thusong-web@.service").read_text()
    assert re.search(r"^ExecStart=\S+ web --host 127\.0\.0\.1 --port %i ", unit, re.MULTILINE)
    enabled = {f"thusong-web@{port}" for port in upstreams.values()}
    for text in (unit, (UNITS / "thusong-migrate.service").read_text(), (ROOT / "docs/operating.md").read_text()):
        assert all(name in text for name in enabled), enabled
    assert re.search(r"location /webhooks/ \{\s*proxy_pass http://thusong_webhooks;", site)
    assert re.search(r"location / \{\s*proxy_pass http://thusong_staff;", site)


def test_the_site_writes_its_errors_to_its_own_log():
    """Upstream errors quote ?token=: the site's own error_log, documented as root/adm only."""
    site = (ROOT / "deploy/nginx/thusong.conf").read_text()
    server = site[site.index("server {"):]
    assert re.search(r"^    error_log /var/log/nginx/thusong\.error\.log;", server, re.MULTILINE)
    assert "thusong.error.log" in (ROOT / "docs/operating.md").read_text()


RULES = ROOT / "deploy" / "prometheus" / "thusong-alerts.yml"


RULE_TESTS = RULES.with_name("thusong-alerts.test.yml")
SCRAPE = RULES.with_name("prometheus.yml")


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
@pytest.mark.parametrize("args", [("check", "rules", RULES.name), ("test", "rules", RULE_TESTS.name),
                                  ("check", "config", "--syntax-only", SCRAPE.name)],
                         ids=["rules are valid", "rules' unit tests pass", "scrape config is valid"])
def test_prometheus_files_pass_promtool(args):
    done = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60, cwd=RULES.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_unit_test_that_sees_it_fire():
    """An alert nobody has seen fire (its series absent, a typo in a label) may never fire."""
    import yaml

    alerts = {r["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for r in group["rules"]}
    firing = {case["alertname"] for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for case in test.get("alert_rule_test", []) if case.get("exp_alerts")}
    assert alerts == firing, alerts ^ firing


def test_every_metric_an_alert_rule_reads_is_on_metrics(client):
    """A renamed metric would leave its alert silent for ever."""
    import yaml

    from tests.conftest import TOKEN

    client.post(f"/webhooks/at/ussd?token={TOKEN}", data={  # a labelled counter shows once counted
        "sessionId": "rules", "serviceCode": "*134*1234#", "phoneNumber": "+27821234567", "text": ""})
    exposed = client.get("/metrics").get_data(as_text=True)
    rules = [r for group in yaml.safe_load(RULES.read_text())["groups"] for r in group["rules"]]
    names = {n for r in rules for n in re.findall(r"\bthusong_\w+", r["expr"])}
    assert names >= {"thusong_sms_credit_paused", "thusong_ussd_hop_seconds_bucket"}
    missing = [n for n in sorted(names) if not re.search(rf"^{n}[{{ ]", exposed, re.MULTILINE)]
    assert not missing, missing


@pytest.mark.slow
def test_the_plain_pytest_command_collects_the_suite():
    """``.venv/bin/pytest`` (not only ``python -m pytest``) finds the config package, which
    tests/config (a folder of tests) used to stand in for."""
    pytest_script = Path(sys.executable).with_name("pytest")
    done = subprocess.run([str(pytest_script), "--collect-only", "-q", "-p", "no:xdist", "tests/config",
                           "tests/cli/test_cli.py"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_the_readme_is_a_newcomers_page_and_every_doc_link_resolves():
    """The README keeps what a newcomer needs (≤ 150 lines); the rest is in docs/, linked."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")) or "tests/artifacts/" in target:
                continue  # screenshots the browser tests write
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} → {target}")
    assert not broken, broken
    linked = set(re.findall(r"\]\(docs/([\w.-]+\.md)\)", readme))
    assert linked == {p.name for p in (ROOT / "docs").glob("*.md")}, "a docs page the README does not name"


def test_make_run_takes_a_port():
    """``make run`` always served port 5000; ``make run PORT=8123`` serves 8123."""
    def dry_run(*args: str) -> str:
        done = subprocess.run(["make", "-n", "run", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return next(line for line in done.stdout.splitlines() if "thusong run" in line)

    assert dry_run("PORT=8123").endswith("thusong run --port 8123")
    assert dry_run().endswith("thusong run")  # the command's own default (5000)
    assert "make run PORT=" in (ROOT / "README.md").read_text(encoding="utf-8")
