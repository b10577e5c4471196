"""The journey model: screens, options and the catalogues they speak through.

Contract: :func:`build_journey` turns a journey's YAML structure into a :class:`Journey`
without judging it; :func:`menus.loader.load_journey` is what loads and validates one.
:class:`JourneyError` is the one error a broken definition raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from menus.catalogue import Catalogues

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
    """A menu line. Its ``action`` returning False re-asks the menu — or, with ``otherwise``,
    goes to that screen (one that says why, e.g. no more SMS today)."""

    label: str
    goto: str
    action: str | None = None
    otherwise: str | None = None


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
        out = [o.goto for o in self.options] + [o.otherwise for o in self.options if o.otherwise]
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
    options = tuple(Option(str(o["label"]), str(o.get("goto", "")), o.get("action"), o.get("otherwise"))
                    for o in raw.get("options") or ())
    return Screen(id=sid, type=str(raw.get("type", "")), title=title, options=options,
                  action=raw.get("action"), goto=raw.get("goto"), hint=raw.get("hint"),
                  items=raw.get("items"), select=raw.get("select"), render=raw.get("render"),
                  empty=raw.get("empty"))


def build_journey(data: dict, catalogues: Catalogues) -> Journey:
    """The journey a YAML structure describes, not yet validated."""
    screens = {str(sid): _screen(str(sid), raw or {}) for sid, raw in (data.get("screens") or {}).items()}
    return Journey(str(data.get("start", "")), screens, catalogues, catalogues.codes)
