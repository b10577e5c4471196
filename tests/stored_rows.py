"""What PostgreSQL would refuse, checked on any database: SQLite stores a 300-character value in a
``String(64)`` column, a NUL byte in text and a 2**40 in an ``Integer`` without a word, so a test
run on SQLite alone would pass input that fails in production. :func:`assert_rows_fit` reads
every row back and holds it to the models' declared types."""

from __future__ import annotations

from sqlalchemy import Integer, String, func, or_, select

from gateway.store.models import Base

INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def assert_rows_fit(rt) -> None:
    """Fail naming each table.column holding a value over its ``String(n)`` length, a NUL byte,
    or an integer outside SQL INTEGER."""
    problems = []
    sqlite = rt.engine.dialect.name == "sqlite"
    with rt.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            checks = {column.name: _violations(column, sqlite) for column in table.columns}
            checks = {name: cond for name, cond in checks.items() if cond is not None}
            if not checks:
                continue
            # One query per table for the rows breaking any rule, then name the columns.
            for row in conn.execute(select(table).where(or_(*checks.values())).limit(3)).mappings():
                for name in checks:
                    if _breaks(table.columns[name], row[name]):
                        problems.append(f"{table.name}.{name} ({table.columns[name].type}): {repr(row[name])[:80]}")
    assert not problems, "values the schema does not allow:\n" + "\n".join(problems)


def _violations(column, sqlite: bool):
    checks = []
    if isinstance(column.type, String):
        if column.type.length:
            checks.append(func.length(column) > column.type.length)
        if sqlite:  # PostgreSQL refuses NUL on the way in
            checks.append(func.instr(column, "\x00") > 0)
    elif isinstance(column.type, Integer):
        checks.append(or_(column > INT_MAX, column < INT_MIN))
    return or_(*checks) if checks else None


def _breaks(column, value) -> bool:
    if value is None:
        return False
    if isinstance(column.type, String):
        return (column.type.length is not None and len(value) > column.type.length) or "\x00" in value
    return isinstance(column.type, Integer) and not INT_MIN <= value <= INT_MAX
