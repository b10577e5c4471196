"""What PostgreSQL would refuse, checked on any database: SQLite stores a 300-character value in a
``String(64)`` column, a NUL byte in text and a 2**40 in an ``Integer`` without a word, so a test
run on SQLite alone would pass input that fails in production. :func:`assert_rows_fit` reads
every row back and holds it to the models' declared types."""

from __future__ import annotations

from sqlalchemy import Integer, String, func, or_, select

from gateway.models import Base

INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def assert_rows_fit(rt) -> None:
    """Fail naming each table.column holding a value over its ``String(n)`` length, a NUL byte,
    or an integer outside SQL INTEGER."""
    problems = []
    sqlite = rt.engine.dialect.name == "sqlite"
    with rt.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                checks = []
                if isinstance(column.type, String):
                    if column.type.length:
                        checks.append(func.length(column) > column.type.length)
                    if sqlite:  # PostgreSQL refuses NUL on the way in
                        checks.append(func.instr(column, "\x00") > 0)
                elif isinstance(column.type, Integer):
                    checks.append(or_(column > INT_MAX, column < INT_MIN))
                if not checks:
                    continue
                bad = conn.scalars(select(column).where(or_(*checks)).limit(3)).all()
                if bad:
                    problems.append(f"{table.name}.{column.name} ({column.type}): {[repr(v)[:80] for v in bad]}")
    assert not problems, "values the schema does not allow:\n" + "\n".join(problems)
