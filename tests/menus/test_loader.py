"""The journey loader refuses a broken definition, naming the screen: one tiny broken
journey per rule (the shipped journey's budget checks are in tests/ussd/test_screen_budget.py)."""

from __future__ import annotations

import pytest
import yaml

from menus.catalogue import Catalogues, load_yaml
from menus.journey import JourneyError
from menus.loader import parse_journey

END = {"type": "end", "title": "error.apology"}


def _journey(**screens) -> dict:
    """A minimal valid journey (menu → end) with ``screens`` added or replaced."""
    base = {
        "main": {"type": "menu", "title": "main.title", "options": [{"label": "main.find", "goto": "bye"}]},
        "resume": {"type": "menu", "title": "resume.title",
                   "options": [{"label": "resume.restart", "goto": "main"}]},
        "bye": END,
    }
    return {"start": "main", "screens": {**base, **screens}}


def _problems(data: dict) -> dict[str, list[str]]:
    with pytest.raises(JourneyError) as err:
        parse_journey(data, Catalogues.load())
    return err.value.problems


def test_a_minimal_journey_loads():
    journey = parse_journey(_journey(), Catalogues.load())
    assert journey.start == "main" and set(journey.screens) == {"main", "resume", "bye"}


@pytest.mark.parametrize("data, screen, words", [
    ({**_journey(), "start": "nowhere"}, "nowhere", "start screen does not exist"),
    (_journey(main={"type": "menu", "title": "main.title", "options": [{"label": "main.find", "goto": "gone"}]}),
     "main", "target 'gone' does not exist"),
    (_journey(lost={"type": "end", "title": "error.apology"}), "lost", "unreachable"),
    (_journey(bye={"type": "input", "title": "main.title", "action": "find_nearest"}), "bye", "dead end"),
    (_journey(bye={"type": "menu", "title": "main.title"}), "bye", "dead end"),
    (_journey(main={"type": "menu", "title": "main.title",
                    "options": [{"label": "main.find", "goto": "bye", "action": "no_such_action"}]}),
     "main", "action 'no_such_action' is not registered"),
    (_journey(bye={"type": "info", "title": "main.title"}), "bye", "info needs a renderer"),
    (_journey(bye={"type": "end", "title": "no.such.key"}), "bye", "missing in English"),
    (_journey(bye={"type": "popup", "title": "main.title"}), "bye", "unknown type"),
], ids=["no-start", "missing-target", "unreachable", "input-dead-end", "menu-dead-end",
        "unregistered-action", "info-without-renderer", "missing-text", "unknown-type"])
def test_a_broken_journey_is_refused_naming_the_screen(data, screen, words):
    problems = _problems(data)
    assert screen in problems, problems
    assert any(words in msg for msg in problems[screen]), problems[screen]


def test_a_key_given_twice_in_a_catalogue_is_refused(tmp_path):
    """The rating screen's ``reason.queue`` must not be replaced by a later string of that name."""
    path = tmp_path / "en.yaml"
    path.write_text('strings:\n  reason.queue: "Long queue"\n  reason.queue: "long queue"\n', encoding="utf-8")
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'reason.queue'"):
        load_yaml(path)
