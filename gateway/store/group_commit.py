"""Group commit: rows that concurrent callers insert share one transaction.

Contract: :meth:`GroupInsert.insert` returns only after the transaction holding the caller's
row has committed — the row's id, or None when a row with the same unique key was already
there (or came earlier in the same group). Callers arriving while a commit is in flight wait
for it and go together in the next one: one multi-row ``INSERT … ON CONFLICT DO NOTHING
RETURNING`` and one commit (one fsync on SQLite, one round trip on PostgreSQL) for the group,
not one each. No caller waits for others to arrive: a lone caller commits at once.

Errors: when the group's statement fails on a row (``IntegrityError`` other than a duplicate
key, ``DataError``), each row is written again in its own transaction, so a bad row fails
only its own caller. Any other error (the database is gone) is raised to every caller of the
group: none of their rows is stored, and none of them may say it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError

# Rows per statement: well inside SQLite's bound-parameter limit, and a group this large only
# forms when the database is slow, where a larger one would not help.
MAX_GROUP = 100


@dataclass(eq=False)
class _Pending:
    values: dict
    done: bool = False
    written: bool = False  # its group's transaction committed (row_id None: a duplicate)
    row_id: int | None = None
    error: BaseException | None = None
    lead: bool = False  # the first row its group stored


@dataclass(frozen=True)
class Inserted:
    """What :meth:`GroupInsert.insert` did for one caller."""

    row_id: int | None  # None: the key was already stored
    lead: bool  # the first row its group stored: its caller does the group's follow-up, once a group


@dataclass(eq=False)
class GroupInsert:
    """Inserts into ``table`` (unique column ``key``), grouped across the threads of one process."""

    engine: Engine
    table: Table
    key: str
    max_group: int = MAX_GROUP
    on_group: Callable[[int], None] | None = None  # told each group's size (metrics)
    _cond: threading.Condition = field(default_factory=threading.Condition, init=False)
    _queue: list[_Pending] = field(default_factory=list, init=False)
    _writing: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        self._statement = (dialect.insert(self.table).on_conflict_do_nothing()
                           .returning(self.table.c.id, self.table.c[self.key]))

    def insert(self, values: dict) -> Inserted:
        """Store ``values`` as a row; returns once the commit holding it is done (see module)."""
        mine = _Pending(values)
        with self._cond:
            self._queue.append(mine)
        while True:
            with self._cond:
                while self._writing and not mine.done:
                    self._cond.wait()
                if mine.done:
                    return _outcome(mine)
                # Nobody is writing and ``mine`` still waits: this caller writes the oldest group.
                self._writing = True
                group, self._queue = self._queue[:self.max_group], self._queue[self.max_group:]
            try:
                self._write(group)
            finally:
                with self._cond:
                    self._writing = False
                    for pending in group:
                        if not pending.written and pending.error is None:  # the writer itself was interrupted
                            pending.error = RuntimeError("the group's write was interrupted")
                        pending.done = True
                    self._cond.notify_all()

    def _write(self, group: list[_Pending]) -> None:
        if self.on_group is not None:
            self.on_group(len(group))
        try:
            self._write_together(group)
        except (IntegrityError, DataError) as exc:
            if len(group) == 1:
                group[0].error = exc
                return
            for pending in group:  # find the bad row: each alone, each its own answer
                try:
                    self._write_together([pending])
                except Exception as alone:
                    pending.error = alone
        except Exception as exc:
            for pending in group:
                pending.error = exc
            return
        stored = [p for p in group if p.row_id is not None]
        if stored:
            stored[0].lead = True  # not the writer: the writer's own row may be a duplicate

    def _write_together(self, group: list[_Pending]) -> None:
        first: dict[str, _Pending] = {}
        for pending in group:
            first.setdefault(pending.values[self.key], pending)  # a repeat in the group is a duplicate
        with self.engine.begin() as conn:
            # One statement whatever the group's size: SQLAlchemy sends the rows as one
            # multi-row VALUES ("insertmanyvalues"); a key already stored returns no row.
            stored = {row_key: row_id for row_id, row_key in conn.execute(
                self._statement, [p.values for p in first.values()])}
        for pending in group:
            pending.row_id = stored.get(pending.values[self.key]) if first[pending.values[self.key]] is pending else None
            pending.written = True


def _outcome(pending: _Pending) -> Inserted:
    if pending.error is not None:
        raise pending.error
    return Inserted(pending.row_id, pending.lead)
