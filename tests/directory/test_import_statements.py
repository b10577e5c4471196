"""What a centres CSV import sends to the database: a preview of rows that each name a new
municipality wrote every centre, one statement and round trip a row, because making each
municipality's id flushed the session (397 KB: 24.7 s on the production setup, 2 MB: 86 s)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gateway.directory.centre_csv import import_centres
from gateway.store.models import Centre
from tests.plans import statements

ROWS = 120
HEADER = "name,province,municipality,town,address,phone,latitude,longitude,source,coord_source,notes\n"
TEXT = HEADER + "".join(f"Centre {i:03d},Gauteng,Municipality {i:03d},Soweto,,,,,,,Home Affairs\n"
                        for i in range(ROWS))


def writes(seen, table: str) -> int:
    return sum(1 for statement, _p in seen if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()}"))


def test_a_preview_writes_no_centre_and_one_statement_per_new_municipality(rt):
    with statements(rt.engine) as seen:
        report = import_centres(rt.sessions, TEXT, rt.gazetteer, dry_run=True)
    assert report.inserted == ROWS and not report.rejected
    assert writes(seen, "centres") == 0 and writes(seen, "centre_services") == 0, writes(seen, "centres")
    assert writes(seen, "municipalities") == ROWS and len(seen) < ROWS + 20, len(seen)
    with rt.sessions() as s:
        assert s.scalars(select(Centre)).all() == []  # nothing stays


def test_an_import_writes_the_centres_in_batches_each_in_its_municipality(rt):
    with statements(rt.engine) as seen:
        report = import_centres(rt.sessions, TEXT, rt.gazetteer)
    assert report.inserted == ROWS
    if rt.engine.dialect.name == "postgresql":  # SQLite sends a row a statement, in-process: no round trips
        assert writes(seen, "centres") < 10, writes(seen, "centres")
    with rt.sessions() as s:
        rows = s.scalars(select(Centre).options(selectinload(Centre.municipality), selectinload(Centre.services))).all()
        assert sorted((c.name, c.municipality.name) for c in rows) == [
            (f"Centre {i:03d}", f"Municipality {i:03d}") for i in range(ROWS)]
        assert all([s.code for s in c.services] == ["documents"] for c in rows)
