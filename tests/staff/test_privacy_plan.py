"""A citizen's analytics rows are found by an index on the keyed caller, not by reading every
hop and search kept: a privacy export or delete through the dashboard runs under the web's
8 s statement limit, and 90 days of hops at national volume are millions of rows."""

from __future__ import annotations

from sqlalchemy import insert, text

from gateway.staff import privacy
from gateway.store.models import UsageSearch, UssdHopLog, utcnow
from tests.plans import plan, statements

TABLES = ("ussd_hops", "usage_searches")


def test_export_and_delete_find_the_callers_analytics_rows_by_index(rt):
    now = utcnow()
    with rt.sessions.begin() as s:
        s.execute(insert(UssdHopLog), [{"at": now, "session_id": f"s{i}", "caller": f"{i:032x}", "screen": "main",
                                        "end": False} for i in range(2000)])
        s.execute(insert(UsageSearch), [{"at": now, "channel": "ussd", "kind": "place", "term": "Soweto",
                                         "found": True, "caller": f"{i:032x}"} for i in range(2000)])
        s.execute(text("ANALYZE"))
    subject = privacy.subject_of(rt, "+27821234567")
    with statements(rt.engine, lambda statement: any(f" {table}" in statement for table in TABLES)) as seen:
        privacy.export(rt, subject)
        privacy.erase(rt, subject)
    assert len(seen) >= 4  # each table read for the export, then deleted from
    if rt.engine.dialect.name == "postgresql":
        return  # PostgreSQL plans by cost: on tables this small a scan is the cheaper plan
    for statement, parameters in seen:
        explained = plan(rt.engine, statement, parameters)
        assert not any(f"SCAN {table}" in explained for table in TABLES), (statement, explained)
