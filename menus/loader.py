"""Loading a journey and validating it when it loads, one named check per rule.

Contract: :func:`load_journey` returns a validated :class:`~menus.journey.Journey` or raises
:class:`~menus.journey.JourneyError` listing every offending screen id: no start, a target
that does not exist, an unreachable screen, a dead end, an action/provider/renderer name that
is not registered, a text key missing from English (or from a language marked complete), a
static screen over the USSD budget in any language.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from menus import actions
from menus.catalogue import Catalogues, load_yaml
from menus.journey import JOURNEYS, TYPES, Journey, JourneyError, Screen, build_journey
from menus.screens import static_screen_problems

Report = Callable[[str, str], None]  # (screen id, problem)


def load_journey(path: Path | None = None, catalogues: Catalogues | None = None) -> Journey:
    catalogues = catalogues or Catalogues.load()
    return parse_journey(load_yaml(path or JOURNEYS / "citizen.yaml"), catalogues)


def parse_journey(data: dict, catalogues: Catalogues) -> Journey:
    journey = build_journey(data, catalogues)
    validate(journey)
    return journey


def validate(journey: Journey) -> None:
    """Run every check; raise one :class:`JourneyError` naming every broken screen."""
    problems: dict[str, list[str]] = {}

    def bad(sid: str, msg: str) -> None:
        problems.setdefault(sid, []).append(msg)

    _check_start(journey, bad)
    for sid, screen in journey.screens.items():
        if screen.type not in TYPES:
            bad(sid, f"unknown type {screen.type!r}")
            continue
        for check in SCREEN_CHECKS:
            check(journey, screen, bad)
    _check_complete_catalogues(journey, bad)
    _check_reachable(journey, bad)
    if not problems:  # budgets are judged only on a journey that otherwise holds together
        for sid, msg in static_screen_problems(journey):
            bad(sid, msg)
    if problems:
        raise JourneyError(problems)


def _check_start(journey: Journey, bad: Report) -> None:
    if journey.start not in journey.screens:
        bad(journey.start or "(start)", "start screen does not exist")


def _check_targets(journey: Journey, s: Screen, bad: Report) -> None:
    for target in s.targets():
        if target not in journey.screens:
            bad(s.id, f"target {target!r} does not exist")


def _check_no_dead_end(journey: Journey, s: Screen, bad: Report) -> None:
    if s.type == "menu" and not s.options:
        bad(s.id, "menu without options (dead end)")
    if s.type == "end" and (s.options or s.goto):
        bad(s.id, "end screen cannot lead anywhere")
    if s.type in ("input", "list") and not s.goto:
        bad(s.id, "no goto (dead end)")
    if s.type not in ("end", "info") and not s.title:
        bad(s.id, "no title/prompt")


def _check_names_registered(journey: Journey, s: Screen, bad: Report) -> None:
    for name, registry, kind in (
        (s.action, actions.ACTIONS, "action"), (s.select, actions.ACTIONS, "action"),
        (s.items, actions.PROVIDERS, "item provider"), (s.render, actions.RENDERERS, "renderer"),
        *((o.action, actions.ACTIONS, "action") for o in s.options),
    ):
        if name and name not in registry:
            bad(s.id, f"{kind} {name!r} is not registered")
    if s.type == "list" and not (s.items and s.select):
        bad(s.id, "list needs items and select")
    if s.type == "info" and not s.render:
        bad(s.id, "info needs a renderer")


def _check_texts(journey: Journey, s: Screen, bad: Report) -> None:
    english = journey.catalogues.by_code["en"].strings
    for key in s.text_keys():
        if key not in english:
            bad(s.id, f"text {key!r} missing in English")
    for code in journey.languages:
        cat = journey.catalogues.by_code[code]
        if cat.complete:
            missing = [k for k in s.text_keys() if k not in cat.strings]
            if missing:
                bad(s.id, f"{code} marked complete but lacks {', '.join(missing)}")


SCREEN_CHECKS = (_check_targets, _check_no_dead_end, _check_names_registered, _check_texts)


def _check_complete_catalogues(journey: Journey, bad: Report) -> None:
    """A language marked complete holds every string, SMS texts included (not only screens)."""
    for code in journey.languages:
        if journey.catalogues.by_code[code].complete and journey.catalogues.missing(code):
            bad(f"catalogue:{code}", "marked complete but lacks " + ", ".join(journey.catalogues.missing(code)))


def _check_reachable(journey: Journey, bad: Report) -> None:
    """Every screen is reachable from the start (the resume screen is entered by the engine)."""
    seen, todo = set(), [journey.start, "resume"]
    while todo:
        sid = todo.pop()
        if sid in seen or sid not in journey.screens:
            continue
        seen.add(sid)
        todo.extend(journey.screens[sid].targets())
    for sid in journey.screens:
        if sid not in seen:
            bad(sid, "unreachable from the start")
