"""Query plans in tests: the statements some code sent, and what the database does with one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def statements(engine, keep: Callable[[str], bool] = lambda _statement: True) -> Iterator[list[tuple[str, object]]]:
    """The (statement, parameters) sent through ``engine`` inside the block that ``keep`` accepts."""
    seen: list[tuple[str, object]] = []

    def grab(_conn, _cursor, statement, parameters, _context, _many):
        if keep(statement):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def plan(engine, statement: str, parameters, analyze: bool = False) -> str:
    """The plan of a captured statement as text: SQLite's EXPLAIN QUERY PLAN; PostgreSQL's
    EXPLAIN, run for real with ``analyze`` (rows read and dropped show then)."""
    with engine.connect() as conn:
        cur = conn.connection.driver_connection.cursor()
        if engine.dialect.name == "postgresql":
            cur.execute(("EXPLAIN (ANALYZE, FORMAT TEXT) " if analyze else "EXPLAIN ") + statement, parameters)
        else:
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        return "\n".join(" ".join(str(c) for c in row) for row in cur.fetchall())
