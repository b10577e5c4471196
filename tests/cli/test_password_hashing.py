"""The argon2 parameters a real ``thusong staff add`` process stores: the test process hashes
with argon2's cheapest profile (``cheap_password_hashes`` in conftest), so only a separate
process shows what the product writes, and a weakened hasher fails here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import argon2
from sqlalchemy import select

from gateway.staff import accounts
from gateway.store.models import Staff

ROOT = Path(__file__).resolve().parents[2]
# RFC 9106's second recommended option, the least the product may store (argon2-cffi's default).
FLOOR = argon2.profiles.RFC_9106_LOW_MEMORY


def test_a_real_staff_add_stores_the_products_argon2_parameters(rt, settings):
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "staff", "add", "hash@example.org", "--role", "approver",
         "--password-stdin"],
        input="correct-horse-battery\n", capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, **settings.as_environ()},
    )
    assert result.returncode == 0, result.stderr
    with rt.sessions() as session:
        stored = argon2.extract_parameters(session.scalar(select(Staff.password_hash)))
    assert stored == accounts.HASH_PARAMETERS  # what the product's code says it stores
    assert stored.type is argon2.Type.ID
    assert stored.memory_cost >= FLOOR.memory_cost and stored.time_cost >= FLOOR.time_cost
    assert stored.hash_len >= FLOOR.hash_len and stored.salt_len >= FLOOR.salt_len
    assert stored.parallelism == accounts.HASH_PARAMETERS.parallelism >= 1
