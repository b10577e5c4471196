"""`thusong staff add --phone`, `staff set-phone EMAIL NUMBER|--clear` and the masked number in
`staff list`: each change audited (``staff.changed``, field ``phone``, the number masked)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.staff import audit
from gateway.staff.accounts import find_member

PASSWORD = "correct-horse-battery"


@pytest.fixture
def env(settings, monkeypatch):
    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)


def run(args, input=None):
    return CliRunner().invoke(main, args, input=input)


def add(email, *extra):
    return run(["staff", "add", email, "--role", "admin", "--password-stdin", *extra], input=PASSWORD)


def test_add_with_a_phone_and_list_it_masked(rt, env):
    assert add("a@example.org", "--phone", "082 123 4567").exit_code == 0
    assert add("b@example.org").exit_code == 0
    assert find_member(rt.sessions, "a@example.org").phone == "+27821234567"
    added = audit.events(rt.sessions, "staff.added").events[-1]
    assert (added.target, json.loads(added.detail)["phone"]) == ("a@example.org", "+2782****567")
    listing = run(["staff", "list"]).output
    assert "a@example.org\tadmin\tcentres=-\tactive\ta\tphone=+2782****567" in listing
    assert "b@example.org\tadmin\tcentres=-\tactive\tb\tphone=-" in listing
    assert "+27821234567" not in listing and "0821234567" not in listing


def test_a_shared_or_bad_phone_is_refused_saying_why(rt, env):
    assert add("a@example.org", "--phone", "0821234567").exit_code == 0
    clash = add("b@example.org", "--phone", "+27821234567")
    assert clash.exit_code == 1 and "+2782****567 is already the phone of a@example.org" in clash.output
    bad = add("c@example.org", "--phone", "082 ABC 4567")
    assert bad.exit_code == 1 and "only digits" in bad.output
    assert find_member(rt.sessions, "b@example.org") is None and find_member(rt.sessions, "c@example.org") is None


def test_set_phone_and_clear_are_audited_masked(rt, env):
    assert add("a@example.org").exit_code == 0
    result = run(["staff", "set-phone", "A@example.org", "0821234567"])
    assert result.exit_code == 0 and result.output == "phone of a@example.org set to +2782****567\n"
    assert find_member(rt.sessions, "a@example.org").phone == "+27821234567"
    cleared = run(["staff", "set-phone", "a@example.org", "--clear"])
    assert cleared.exit_code == 0 and cleared.output == "phone of a@example.org cleared\n"
    assert find_member(rt.sessions, "a@example.org").phone is None
    changes = [e for e in audit.events(rt.sessions).events if e.action == "staff.changed"]
    assert [(e.actor, e.target, json.loads(e.detail)) for e in changes] == [
        ("cli", "a@example.org", {"field": "phone", "from": "+2782****567", "to": None}),
        ("cli", "a@example.org", {"field": "phone", "from": None, "to": "+2782****567"})]


@pytest.mark.parametrize("args, message", [
    (["a@example.org"], "give a NUMBER or --clear"),
    (["a@example.org", "0821234567", "--clear"], "give a NUMBER or --clear"),
    (["nobody@example.org", "0821234567"], "no staff account for nobody@example.org"),
], ids=["neither", "both", "unknown account"])
def test_set_phone_refusals(rt, env, args, message):
    assert add("a@example.org").exit_code == 0
    result = run(["staff", "set-phone", *args])
    assert result.exit_code in (1, 2) and message in result.output, result.output
    assert [e.action for e in audit.events(rt.sessions).events] == ["staff.added"]
