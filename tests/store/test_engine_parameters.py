"""No engine the product makes writes bound parameters into an error or its log line: a failed
staff insert logs its SQL, never the argon2 hash or the email it carried."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from gateway.staff.accounts import _hasher
from gateway.store import engine as gdb
from gateway.store.models import Staff
from tests.conftest import captured_logs

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("gateway", "config", "workers")
ENGINE_MAKERS = {"create_engine", "engine_from_config"}


@pytest.mark.parametrize("second", [
    {"email": "dup.secret@example.org", "name": "Secret Name"},  # PostgreSQL: "Key (email)=(…) already exists"
    {"email": "other.secret@example.org", "name": None},  # PostgreSQL: "Failing row contains (…, hash, …)"
], ids=["duplicate email", "missing name"])
def test_a_failing_staff_insert_logs_no_parameter(rt, second):
    password_hash = _hasher.hash("a-password-nobody-may-read")
    first = Staff(email="dup.secret@example.org", name="Secret Name", role="admin", password_hash=password_hash)
    with captured_logs("INFO") as logs:
        with pytest.raises(IntegrityError) as failed:
            with rt.sessions.begin() as session:
                session.add(first)
                session.flush()
                session.add(Staff(role="admin", password_hash=password_hash, **second))
                session.flush()
        logging.getLogger("gateway.staff.accounts").error("account add failed", exc_info=failed.value)
    written = logs.getvalue()
    assert "INSERT INTO staff" in written and "hidden due to hide_parameters=True" in written
    for secret in (password_hash, "$argon2", "secret@example.org", "Secret Name"):
        assert secret not in written and secret not in str(failed.value), secret


@pytest.mark.parametrize("url", ["sqlite:///{tmp}/x.db", "postgresql://u:p@127.0.0.1:1/x"], ids=["sqlite", "postgresql"])
def test_every_kind_of_engine_hides_parameters(url, tmp_path, rt):
    engine = gdb.make_engine(url.format(tmp=tmp_path), statement_timeout_ms=1, connect_timeout_s=1)
    assert engine.hide_parameters and rt.engine.hide_parameters


def _engine_calls_without_hiding() -> list[str]:
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) \
                        in ENGINE_MAKERS:
                    hidden = any(k.arg == "hide_parameters" and getattr(k.value, "value", None) is True
                                 for k in node.keywords)
                    if not hidden:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_engine_the_product_makes_hides_its_parameters():
    assert _engine_calls_without_hiding() == []
