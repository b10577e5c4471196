"""Changing one string in a catalogue, or one language's words in keywords.yaml, line by line.

Contract: :func:`set_string` and :func:`set_keywords` take a file's text and return it with
exactly one line replaced (or inserted), every other byte kept: comments, order, quoting. A
catalogue string is written as YAML's double-quoted scalar (the JSON form, as every shipped
line is written); a keyword line keeps its trailing comment. Re-dumping the YAML instead
would reformat files people edit by hand and turn every review into a whole-file diff.
"""

from __future__ import annotations

import json
import re

_PLAIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def string_line(key: str, text: str) -> str:
    return f"  {key}: {json.dumps(text, ensure_ascii=False)}"


def set_string(source: str, key: str, text: str, order: list[str]) -> str:
    """``source`` (a catalogue file) with ``key`` set to ``text``. A key the file lacks goes
    after the nearest key before it in ``order`` (English's), else at the end of ``strings``."""
    lines = source.split("\n")
    where = {_key_of(line): i for i, line in enumerate(lines) if _key_of(line)}
    if key in where:
        lines[where[key]] = string_line(key, text)
        return "\n".join(lines)
    earlier = order[: order.index(key)] if key in order else order
    after = next((where[k] for k in reversed(earlier) if k in where), None)
    if after is None:
        after = max(where.values(), default=len(lines) - 1)
    lines.insert(after + 1, string_line(key, text))
    return "\n".join(lines)


def _key_of(line: str) -> str | None:
    match = re.match(r"^  ([A-Za-z0-9_.]+): \"", line)
    return match.group(1) if match else None


def keyword_words(text: str) -> list[str]:
    """'ISIKHUNGO, ESEDUZE' → ['ISIKHUNGO', 'ESEDUZE'] (how a translator writes the words)."""
    return [w.strip() for w in text.split(",") if w.strip()]


def set_keywords(source: str, action: str, lang: str, words: list[str]) -> str:
    """``source`` (keywords.yaml) with ``lang``'s words for ``action`` set to ``words``."""
    shown = ", ".join(w if _PLAIN_WORD.fullmatch(w) else json.dumps(w, ensure_ascii=False) for w in words)
    lines = source.split("\n")
    start = lines.index(f"  {action}:") if f"  {action}:" in lines else next(
        i for i, line in enumerate(lines) if line.startswith(f"  {action}:"))
    end = start + 1
    while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
        end += 1
    for i in range(start + 1, end):
        match = re.match(rf"^    {re.escape(lang)}: \[.*?\](.*)$", lines[i])
        if match:
            lines[i] = f"    {lang}: [{shown}]{match.group(1)}"
            return "\n".join(lines)
    last = max(i for i in range(start, end) if lines[i].strip())
    lines.insert(last + 1, f"    {lang}: [{shown}]")
    return "\n".join(lines)
