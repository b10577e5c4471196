"""Centres CSV import jobs: JSON-safe shims over ``gateway.staff.centre_import``."""

from __future__ import annotations

from gateway.staff import centre_import
from workers.context import runtime


def preview(staff_id: int, token: str, filename: str) -> dict:
    return centre_import.run_preview(runtime(), int(staff_id), str(token), str(filename))


def apply(staff_id: int, token: str, filename: str, address: str | None) -> dict:
    return centre_import.run_import(runtime(), int(staff_id), str(token), str(filename), address)
