"""docs/operating.md cannot rot: its ``sh runnable`` blocks — wheel build, installation in a
fresh virtual environment, the environment file, ``thusong db upgrade``, ``thusong check
--offline``, backup and restore — run in order, in one shell, in a temporary folder, with the
variables its ``sh variables`` block names set for this machine (SQLite, the tests' Redis).
Blocks needing root (apt-get, systemctl) are shown there, not run.

One shortcut, for time: the fresh environment borrows the app's dependencies from the
project's own environment (``PYTHONPATH`` to links of its packages, without the app itself),
so ``pip install`` of the wheel finds them installed and copies only the app; a full
installation from the package index took 3 minutes here. The app itself comes from the wheel,
and the test checks that the installed ``gateway`` is the wheel's, not this checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operating.md"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
NOT_BORROWED = ("pip", "setuptools", "_distutils_hack", "pkg_resources", "distutils-precedence",
                "__editable__", "thusong_gateway", "__pycache__")


def blocks(info: str) -> list[str]:
    return [body for kind, body in FENCE.findall(DOC.read_text()) if kind.strip() == info]


def borrowed_dependencies(folder: Path) -> Path:
    """Links to every package in this environment except the app and the packaging tools."""
    folder.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(NOT_BORROWED):
            (folder / entry.name).symlink_to(entry)
    return folder


def debian_python() -> str:
    """The host's own ``/usr/bin/python3`` (Debian 12's 3.11.2, the doc's target) when it is this
    Python's minor version, so the borrowed packages load; else this Python. The project's own
    Python here is a newer 3.11, and ``thusong restore`` once used a ``tarfile`` argument
    (extraction filters, 3.11.4) that only the newer one has: every restore failed on Debian 12."""
    system = Path("/usr/bin/python3")
    if system.exists():
        version = subprocess.run([str(system), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                                 text=True, timeout=30).stdout.strip()
        if version == str(sys.version_info[:2]):
            return str(system)
    return sys.executable


def test_the_doc_has_runnable_blocks_and_a_variables_block():
    assert len(blocks("sh runnable")) >= 5 and len(blocks("sh variables")) == 1


@pytest.mark.slow
def test_the_runnable_blocks_of_the_operating_doc_run_in_order(settings, tmp_path):
    prefix = tmp_path / "opt"
    values = {
        "THUSONG_SRC": str(ROOT), "PREFIX": str(prefix), "ENV_FILE": str(tmp_path / "thusong.env"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'thusong.db'}", "REDIS_URL": settings.REDIS_URL,
        "AT_USERNAME": "thusong-gov", "AT_API_KEY": "atsk-not-asked-offline", "BACKUP_DIR": str(tmp_path / "backups"),
        "RESTORE_URL": f"sqlite:///{tmp_path / 'restored.db'}",
    }
    named = set(re.findall(r"^export (\w+)=", blocks("sh variables")[0], re.MULTILINE))
    assert named == set(values), "the doc's variables block and this test must name the same variables"
    (tmp_path / "backups").mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(debian_python())
    keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "PIP_CONFIG_FILE") or k.startswith("PIP_")}
    env = {**keep, **values, "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
           "PYTHONPATH": str(borrowed_dependencies(tmp_path / "borrowed")), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    script = "set -euo pipefail\n" + "".join(f'echo "--- runnable block {n} at $SECONDS s" >&2\n{body}\n'
                                             for n, body in enumerate(blocks("sh runnable"), 1))
    script += '"$PREFIX/.venv/bin/python" -c "import gateway; print(\'app from\', gateway.__file__)"\n'
    started = time.monotonic()
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    took = time.monotonic() - started
    print(f"\nthe runnable blocks took {took:.0f} s\n{done.stdout}")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"app from {prefix}/.venv/" in out  # the wheel's copy, not the checkout
    assert "FAIL" not in out and "ok   settings: valid, THUSONG_ENV=production" in out
    assert re.search(r"^ok   database: reachable, at head \w+", out, re.MULTILINE)
    assert re.search(r"^wrote .*thusong-\d{8}T\d{6}Z\.tar: sqlite at \w+, \d+ tables, \d+ rows$", out, re.MULTILINE)
    assert "row counts and centres export match" in out
    assert re.search(r"^inserted [1-9]\d*, updated 0, unchanged 0, rejected 0$", out, re.MULTILINE), \
        "the centres directory is imported on the production path"
    assert re.search(r"^ *\d+  Kagiso Thusong Service Centre", out, re.MULTILINE)


def test_the_source_folder_is_cloned_to_an_absolute_path_every_block_can_name():
    """``THUSONG_SRC=$HOME/src/thusong`` was never created, and root's ``$HOME`` (step 6) is not
    the service user's: the path is absolute, a clone step makes it, and the blocks run as root
    spell it out (their shell never had the variable)."""
    src = re.search(r"^export THUSONG_SRC=(\S+)", blocks("sh variables")[0], re.MULTILINE).group(1)
    assert src.startswith("/") and "$" not in src, src
    text = DOC.read_text()
    assert re.search(rf"^sudo -u thusong git clone \S+ {re.escape(src)}$", text, re.MULTILINE)
    as_root = [body for kind, body in FENCE.findall(text) if kind.strip() == "sh"]
    assert as_root and not [b for b in as_root if "THUSONG_SRC" in b or "$HOME" in b]
    assert any(f"{src}/deploy/systemd/" in b for b in as_root)


def test_every_thusong_command_on_the_server_loads_the_env_file():
    """Run as root without the env file a command refuses; the doc spells the form that works."""
    as_root = "".join(body for kind, body in FENCE.findall(DOC.read_text()) if kind.strip() == "sh")
    commands = [line for line in as_root.splitlines() if "/.venv/bin/thusong " in line]
    assert len(commands) >= 2 and any(" centres import " in line for line in commands)
    load = "sudo -u thusong sh -c 'set -a; . /etc/thusong/thusong.env; exec /opt/thusong/.venv/bin/thusong "
    assert all(load in line for line in commands), commands


def test_the_doc_says_what_metrics_answers_without_and_with_a_wrong_token():
    text = " ".join(DOC.read_text().split())
    assert "(403 otherwise)" not in text
    assert "401 without the header, 403 with a wrong token" in text


def test_the_multi_host_drop_in_changes_only_the_address():
    """The units bind 127.0.0.1; a web host behind a separate proxy binds its private address by a
    drop-in, which must keep the unit's command otherwise (port, workers) as shipped."""
    drop_ins = [body for kind, body in FENCE.findall(DOC.read_text()) if kind.strip() == "ini"]
    assert len(drop_ins) == 1
    lines = drop_ins[0].splitlines()
    assert lines[:2] == ["[Service]", "ExecStart="], "an ExecStart= drop-in must clear the unit's first"
    unit = (ROOT / "deploy/systemd/thusong-web@.service").read_text()
    shipped = re.search(r"^ExecStart=(.*)$", unit, re.MULTILINE).group(1)
    address = re.search(r"--host (10\.\d+\.\d+\.\d+) ", lines[2]).group(1)
    assert lines[2] == "ExecStart=" + shipped.replace("--host 127.0.0.1", f"--host {address}")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_multi_host_drop_in_passes_systemd_analyze_verify(tmp_path):
    """systemd reads the drop-in over the shipped unit (SYSTEMD_UNIT_PATH): without the clearing
    ``ExecStart=`` it refuses the unit ("more than one ExecStart= setting")."""
    drop_in = next(body for kind, body in FENCE.findall(DOC.read_text()) if kind.strip() == "ini")
    for unit in (ROOT / "deploy/systemd").glob("*.service"):
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/thusong", str(ROOT)))
    (tmp_path / "thusong-web@.service.d").mkdir()
    (tmp_path / "thusong-web@.service.d/override.conf").write_text(drop_in.replace("/opt/thusong", str(ROOT)))
    done = subprocess.run(["systemd-analyze", "verify", "thusong-web@8001.service"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"})
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr


@pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(), reason="Debian's nginx is required (make nginx)")
def test_the_multi_host_upstreams_load_in_the_shipped_site(tmp_path):
    """The doc's upstream block, in place of the shipped site's, passes ``nginx -t``."""
    from tests.deploy.test_nginx_sites import PLAIN, main_config

    upstreams = next(body for kind, body in FENCE.findall(DOC.read_text()) if kind.strip() == "nginx")
    site, replaced = re.subn(r"^upstream thusong_webhooks \{.*?^upstream thusong_staff \{.*?^\}\n", upstreams,
                             PLAIN.read_text(), flags=re.MULTILINE | re.DOTALL)
    assert replaced == 1 and site.count("server 10.0.0.") == 4
    conf = main_config(site, tmp_path)
    done = subprocess.run(["/usr/sbin/nginx", "-t", "-p", str(tmp_path), "-c", str(conf), "-e",
                           str(tmp_path / "error.log")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "[warn]" not in done.stderr, done.stderr
