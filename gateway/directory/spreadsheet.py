"""CSV as people open it: in a spreadsheet, saved by Excel in whatever their locale uses.

Contract:
- :func:`csv_text` is how the product writes every CSV meant for a person (the centres export,
  the analytics figures): each cell passes through :func:`safe_cell`, which puts a single quote
  before text a spreadsheet would run as a formula (OWASP's rule: text starting with ``=``,
  ``+``, ``-``, ``@``, tab or carriage return), and leaves plain numbers (``-26.26781``) and
  E.164 numbers (``+27821234567``) as they are. Excel in South Africa splits a line at ``;``
  (its list separator) even in a comma file, so each ``;``-separated piece of a cell is
  treated as the start of a cell too. :func:`restore_cell` undoes it exactly, for the import:
  ``restore_cell(safe_cell(s)) == s`` for every string.
- :func:`read_records` reads a CSV text whose delimiter, ``,`` or ``;``, is the one under
  which its header names more known columns. Problems in a record are that record's error
  (by the line it starts on) and reading goes on; only a header that cannot be read raises
  ``ValueError``. A file whose lines end in bare carriage returns (old Mac Excel) is read; in
  any other file a bare carriage return outside quotes is an error of its record.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

# Python csv's own limit per cell; a longer cell is refused as its record's error. The module's
# limit is raised for the whole process (it has no other setting) so that such a cell is read
# whole: at the default the reader gives up mid-cell and loses its place in the file, and
# every text read here is already in memory, so that limit guards nothing.
CELL_LIMIT = 131_072
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)  # ASCII digits only: "-٣" is text
DELIMITERS = (",", ";")


def _runs(piece: str) -> bool:
    """Whether the piece, with any leading quotes written by :func:`safe_cell` removed,
    starts a formula (a plain number does not)."""
    bare = piece.lstrip("'")
    return bare[:1] in FORMULA_STARTS and not _NUMBER.fullmatch(bare)


def safe_cell(value):
    """``value`` as a spreadsheet will show it, not run it: text whose cell (or a ``;`` piece
    of it) starts a formula gets a leading single quote; anything else comes back as it is.
    Text already quoting such a piece gets one more quote, so that :func:`restore_cell` can
    tell them apart."""
    if not isinstance(value, str):
        return value
    return ";".join("'" + p if _runs(p) else p for p in value.split(";"))


def restore_cell(text: str) -> str:
    """The value :func:`safe_cell` was given for ``text``."""
    return ";".join(p[1:] if p[:1] == "'" and _runs(p) else p for p in text.split(";"))


def csv_text(header: Sequence[str], rows: Iterable[Sequence], lineterminator: str = "\r\n") -> str:
    """The CSV file of ``header`` and ``rows``, every cell through :func:`safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=lineterminator)
    writer.writerow([safe_cell(c) for c in header])
    writer.writerows([safe_cell(c) for c in row] for row in rows)
    return out.getvalue()


@dataclass(frozen=True)
class Record:
    """One record of the file: the line it starts on, its cells by column name (restored by
    :func:`restore_cell`, not trimmed; a column the record lacks is absent), and ``error``,
    why it cannot be used (its cells then as read, if any were)."""

    line: int
    cells: dict[str, str]
    error: str | None = None


def _delimiter(header_line: str, known: set[str]) -> str:
    """The delimiter under which the header names the most known columns (ties: ``,``)."""
    def named(delimiter: str) -> int:
        try:
            cells = next(csv.reader([header_line], delimiter=delimiter), [])
        except csv.Error:
            return 0
        return len({c.strip() for c in cells} & known)
    return max(DELIMITERS, key=named)


def read_records(text: str, known: Sequence[str]) -> tuple[list[str], Iterator[Record]]:
    """The header's column names and the records after it (see the module docstring).
    ``known`` are the column names the reader expects (they choose the delimiter)."""
    if "\n" not in text:
        text = text.replace("\r", "\n")  # lines ended by CR alone: the old Mac "CSV" format
    delimiter = _delimiter(text.split("\n", 1)[0].rstrip("\r"), set(known))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [c.strip() for c in next(reader, [])]
    except csv.Error as exc:
        raise ValueError(f"line 1, the header: {_why(exc)}") from None
    return header, _records(reader, header)


def _records(reader, header: list[str]) -> Iterator[Record]:
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num
            yield Record(start, {}, _why(exc))
            continue
        line = reader.line_num
        if not cells:
            continue  # a blank line
        yield _record(start, header, cells)


def _record(line: int, header: list[str], cells: list[str]) -> Record:
    named = dict(zip(header, cells, strict=False))  # a short row: its missing cells are absent
    if any(c.strip() for c in cells[len(header):]):
        return Record(line, named, f"{len(cells)} cells, but the header names {len(header)} columns "
                                "(a comma inside a cell that is not in quotes?)")
    long = [name for name, c in named.items() if len(c) > CELL_LIMIT]
    if long:
        return Record(line, named, f"{long[0]}: longer than {CELL_LIMIT} characters")
    return Record(line, {name: restore_cell(c) for name, c in named.items()})


def _why(exc: csv.Error) -> str:
    """A csv error as the person who saved the file can act on it."""
    if "new-line character" in str(exc):
        return "a carriage return outside quotes (save the file again as \"CSV UTF-8\")"
    return str(exc)
