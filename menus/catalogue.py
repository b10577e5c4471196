"""Message catalogues: one YAML file per language in ``menus/catalogues/``, editable by a
translator. Each records whether it is complete; which strings a native speaker reviewed is
kept beside it, string by string (:mod:`menus.review`). A string missing in a language falls
back to English.

Strings may name placeholders (``{centre}``, ``{place}``); they are filled from plain values,
never evaluated.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

CATALOGUES = Path(__file__).with_name("catalogues")
# MomConnect order (DESIGN.md §6).
LANGUAGES = ("zu", "xh", "af", "en", "nso", "tn", "st", "ts", "ss", "ve", "nr")
FALLBACK = "en"


class StrictLoader(yaml.SafeLoader):
    """Safe YAML that keeps yes/no/on/off as strings (a menu option 'No' must stay 'No') and
    refuses a key given twice in one mapping (plain YAML keeps the last silently: a new string
    named like an old one would replace its wording on every screen that uses it)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path: Path):
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader


def read_yaml(path: Path):
    """:func:`load_yaml` of the file as it is now, parsed once per content (the review pages
    read every catalogue on each request; parsing, not reading, is what costs). A copy: the
    caller may change it."""
    return copy.deepcopy(_parsed(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=64)
def _parsed(text: str):
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader


@dataclass(frozen=True)
class Catalogue:
    code: str
    name: str  # the language's own name, as shown in the language menu
    complete: bool
    strings: dict[str, str] = field(default_factory=dict)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


class Catalogues:
    """All languages; :meth:`text` looks a key up with English fallback and fills placeholders."""

    def __init__(self, catalogues: dict[str, Catalogue]):
        if FALLBACK not in catalogues:
            raise ValueError("the English catalogue is required (it is the fallback)")
        self.by_code = catalogues

    @classmethod
    def load(cls, folder: Path = CATALOGUES) -> Catalogues:
        """The catalogues of ``folder``, read once per process (every hop uses them)."""
        return _load(str(folder))

    @classmethod
    def read(cls, folder: Path = CATALOGUES) -> Catalogues:
        """The catalogues as the files hold them now (a translation import changes them)."""
        return _read(str(folder))

    @property
    def codes(self) -> list[str]:
        return [c for c in LANGUAGES if c in self.by_code]

    def raw(self, lang: str, key: str) -> str:
        cat = self.by_code.get(lang)
        if cat is not None and key in cat.strings:
            return cat.strings[key]
        return self.by_code[FALLBACK].strings[key]

    def text(self, lang: str, key: str, **values) -> str:
        template = self.raw(lang, key)
        if not values and "{" not in template:
            return template
        # str.format_map (C) rather than string.Formatter (Python, ~5× slower): several per hop.
        return template.format_map(_Blank({k: "" if v is None else v for k, v in values.items()}))

    def missing(self, lang: str) -> list[str]:
        english = self.by_code[FALLBACK].strings
        cat = self.by_code.get(lang)
        return sorted(k for k in english if cat is None or k not in cat.strings)


def _flag(value) -> bool:
    # The strict loader keeps true/false as strings; read them explicitly.
    return str(value).strip().lower() in ("true", "yes")


def _read(folder: str) -> Catalogues:
    found = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        data = read_yaml(path) or {}
        meta = data.get("meta") or {}
        strings = {str(k): str(v) for k, v in (data.get("strings") or {}).items()}
        found[path.stem] = Catalogue(path.stem, str(meta.get("name", path.stem)),
                                     _flag(meta.get("complete")), strings)
    return Catalogues(found)


_load = lru_cache(maxsize=4)(_read)
