"""The review page's rendered screens are kept per wording in one cache that a web worker's
threads share (8 a process): a full cache evicting under several reviewers at once raised
``KeyError`` or "dictionary changed size during iteration" (a 500 on the review page)."""

from __future__ import annotations

import sys
import threading
from types import SimpleNamespace

import gateway.staff.translation_screens as screens_module
from menus.catalogue import FALLBACK


def catalogues_for(lang: str) -> SimpleNamespace:
    return SimpleNamespace(by_code={lang: SimpleNamespace(strings={"k": lang}), FALLBACK: SimpleNamespace(strings={})})


def test_threads_filling_and_evicting_the_cache_each_get_their_own_screens(monkeypatch):
    monkeypatch.setattr(screens_module, "_render", lambda rt, catalogues, lang: [lang])
    monkeypatch.setattr(screens_module, "_CACHE", {})
    failures: list[str] = []

    def reviewer(name: str) -> None:
        for i in range(3000):  # 40 wordings a reviewer: the cache (24) is always full
            lang = f"{name}-{i % 40}"
            try:
                assert screens_module.screens(None, catalogues_for(lang), lang) == [lang]
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                failures.append(repr(exc))

    was = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch between any two steps
    try:
        threads = [threading.Thread(target=reviewer, args=(f"r{k}",)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(was)
    assert not failures, (len(failures), failures[:3])
    assert len(screens_module._CACHE) <= screens_module._CACHE_SIZE
