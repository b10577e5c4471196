"""Journey model, YAML loader and load-time validation.

Contract: :func:`load_journey` returns a validated :class:`Journey` or raises
:class:`JourneyError` listing every offending screen id: more than one or no start, a target
that does not exist, an unreachable screen, a dead end, an action/provider/renderer name that
is not registered, a text key missing from English (or from a language marked complete), a
static screen over the USSD budget in any language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from menus import actions
from menus.catalogue import Catalogues, load_yaml

JOURNEYS = Path(__file__).with_name("journeys")
TYPES = {"menu", "input", "list", "info", "end"}


class JourneyError(ValueError):
    """A journey definition is broken; ``problems`` maps screen id → what is wrong."""

    def __init__(self, problems: dict[str, list[str]]):
        self.problems = problems
        lines = [f"{sid}: {'; '.join(msgs)}" for sid, msgs in sorted(problems.items())]
        super().__init__("broken journey, screens: " + ", ".join(sorted(problems)) + "\n" + "\n".join(lines))


@dataclass(frozen=True)
class Option:
    label: str
    goto: str
    action: str | None = None


@dataclass(frozen=True)
class Screen:
    id: str
    type: str
    title: str | None = None  # menu/list title key; input prompt key; end text key
    options: tuple[Option, ...] = ()
    action: str | None = None  # input: named action
    goto: str | None = None  # input/list: where success leads
    hint: str | None = None  # input: shown when the action refuses the text
    items: str | None = None  # list: named provider
    select: str | None = None  # list: named action on the picked item
    render: str | None = None  # info: named renderer
    empty: str | None = None  # list: text key when there are no items

    @property
    def ends(self) -> bool:
        return self.type == "end"

    def targets(self) -> list[str]:
        out = [o.goto for o in self.options]
        if self.goto:
            out.append(self.goto)
        return out

    def text_keys(self) -> list[str]:
        keys = [k for k in (self.title, self.hint, self.empty) if k]
        keys += [o.label for o in self.options]
        return keys


@dataclass
class Journey:
    start: str
    screens: dict[str, Screen]
    catalogues: Catalogues
    languages: list[str] = field(default_factory=list)

    def screen(self, sid: str) -> Screen:
        return self.screens[sid]


def _screen(sid: str, raw: dict) -> Screen:
    title = raw.get("title") or raw.get("prompt") or raw.get("text")
    options = tuple(Option(str(o["label"]), str(o.get("goto", "")), o.get("action")) for o in raw.get("options") or ())
    return Screen(id=sid, type=str(raw.get("type", "")), title=title, options=options,
                  action=raw.get("action"), goto=raw.get("goto"), hint=raw.get("hint"),
                  items=raw.get("items"), select=raw.get("select"), render=raw.get("render"),
                  empty=raw.get("empty"))


def parse_journey(data: dict, catalogues: Catalogues) -> Journey:
    screens = {str(sid): _screen(str(sid), raw or {}) for sid, raw in (data.get("screens") or {}).items()}
    journey = Journey(str(data.get("start", "")), screens, catalogues, catalogues.codes)
    validate(journey)
    return journey


def load_journey(path: Path | None = None, catalogues: Catalogues | None = None) -> Journey:
    catalogues = catalogues or Catalogues.load()
    return parse_journey(load_yaml(path or JOURNEYS / "citizen.yaml"), catalogues)


def validate(journey: Journey) -> None:
    from menus.render import static_screen_problems

    problems: dict[str, list[str]] = {}

    def bad(sid: str, msg: str) -> None:
        problems.setdefault(sid, []).append(msg)

    if journey.start not in journey.screens:
        bad(journey.start or "(start)", "start screen does not exist")
    english = journey.catalogues.by_code["en"].strings
    for sid, s in journey.screens.items():
        if s.type not in TYPES:
            bad(sid, f"unknown type {s.type!r}")
            continue
        for target in s.targets():
            if target not in journey.screens:
                bad(sid, f"target {target!r} does not exist")
        if s.type in ("menu",) and not s.options:
            bad(sid, "menu without options (dead end)")
        if s.type == "end" and (s.options or s.goto):
            bad(sid, "end screen cannot lead anywhere")
        if s.type in ("input", "list") and not s.goto:
            bad(sid, "no goto (dead end)")
        if s.type != "end" and not s.title and s.type != "info":
            bad(sid, "no title/prompt")
        for name, registry, kind in (
            (s.action, actions.ACTIONS, "action"), (s.select, actions.ACTIONS, "action"),
            (s.items, actions.PROVIDERS, "item provider"), (s.render, actions.RENDERERS, "renderer"),
            *((o.action, actions.ACTIONS, "action") for o in s.options),
        ):
            if name and name not in registry:
                bad(sid, f"{kind} {name!r} is not registered")
        if s.type == "list" and not (s.items and s.select):
            bad(sid, "list needs items and select")
        if s.type == "info" and not s.render:
            bad(sid, "info needs a renderer")
        for key in s.text_keys():
            if key not in english:
                bad(sid, f"text {key!r} missing in English")
        for code in journey.languages:
            cat = journey.catalogues.by_code[code]
            if cat.complete:
                missing = [k for k in s.text_keys() if k not in cat.strings]
                if missing:
                    bad(sid, f"{code} marked complete but lacks {', '.join(missing)}")
    # A language marked complete holds every string, SMS texts included (not only screens).
    for code in journey.languages:
        if journey.catalogues.by_code[code].complete and journey.catalogues.missing(code):
            bad(f"catalogue:{code}", "marked complete but lacks " + ", ".join(journey.catalogues.missing(code)))
    # Reachability from the start (the resume screen is entered by the engine itself).
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
    if not problems:
        for sid, msg in static_screen_problems(journey):
            bad(sid, msg)
    if problems:
        raise JourneyError(problems)
