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
UNIT_NAMES = ["thusong-migrate.service", "thusong-web.service", "thusong-worker@.service"]


@pytest.mark.parametrize("name", UNIT_NAMES)
def test_unit_is_hardened(name):
    text = (UNITS / name).read_text()
    for line in HARDENING:
        assert line in text, f"{name}: {line.strip()} missing"
    if name != "thusong-migrate.service":  # the schema is at head before anything serves
        assert "Requires=thusong-migrate.service" in text and "After=thusong-migrate.service" in text
    else:
        assert "Type=oneshot" in text


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


def test_nginx_proxies_to_the_port_the_web_unit_listens_on():
    """They disagreed (8000 and 5000): every request through nginx was a 502."""
    upstream = re.search(r"upstream thusong_app \{\s*server ([\d.]+):(\d+);", (ROOT / "deploy/nginx/thusong.conf").read_text())
    listens = re.search(r"ExecStart=.* web --host ([\d.]+) --port (\d+)", (UNITS / "thusong-web.service").read_text())
    assert upstream and listens and upstream.groups() == listens.groups(), (upstream and upstream.groups(),
                                                                            listens and listens.groups())


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
