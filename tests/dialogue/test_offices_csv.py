"""The centres CSV's ``offices`` column: export → import keeps a centre's offices and a second
export is byte-identical; an unknown code is refused by line; a file without the column (the
shipped seed) leaves a centre's offices alone; the offices are the migrated reference data."""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gateway.dialogue.offices import CODES, OFFICES, all_offices, centre_offices
from gateway.directory.centre_csv import COLUMNS, SEED, export_centres, import_centres
from gateway.store.models import Centre

HEAD = "name,province,town,offices\n"


def _offices(rt) -> dict[str, list[str]]:
    with rt.sessions() as s:
        rows = s.scalars(select(Centre).options(selectinload(Centre.offices)).order_by(Centre.id))
        return {c.name: [o.code for o in c.offices] for c in rows}


def test_the_offices_are_reference_data_mapped_to_services(rt):
    offices = all_offices(rt)
    assert [o.code for o in offices] == list(CODES) == [c for c, _n, _s in OFFICES]
    assert CODES == ("HA", "SASSA", "UIF", "SARS", "POST", "GCIS", "HEALTH", "DSD", "JUSTICE", "MUNI")
    by_code = {o.code: o for o in offices}
    assert by_code["HA"].name == "Home Affairs" and by_code["HA"].services == ("documents",)
    assert by_code["POST"].services == ("postal",) and by_code["SASSA"].services == ("grants",)


def test_offices_round_trip_through_export_and_import(rt):
    text = HEAD + "Alpha Thusong,Gauteng,Soweto,ha; sassa\nBeta Thusong,Gauteng,Soweto,POST\nGamma Thusong,Gauteng,Soweto,\n"
    report = import_centres(rt.sessions, text, rt.gazetteer)
    assert report.inserted == 3 and not report.rejected
    assert _offices(rt) == {"Alpha Thusong": ["HA", "SASSA"], "Beta Thusong": ["POST"], "Gamma Thusong": []}
    first = export_centres(rt.sessions)
    assert first.splitlines()[0] == ",".join(COLUMNS) and COLUMNS[-1] == "offices"
    assert first.splitlines()[1].endswith(",HA;SASSA")
    again = import_centres(rt.sessions, first, rt.gazetteer)
    assert (again.unchanged, again.updated, again.rejected) == (3, 0, [])
    assert export_centres(rt.sessions) == first


def test_an_unknown_office_code_is_refused_by_line(rt):
    text = HEAD + "Alpha Thusong,Gauteng,Soweto,HA\nBeta Thusong,Gauteng,Soweto,HA;Home Affairs\n"
    report = import_centres(rt.sessions, text, rt.gazetteer)
    assert report.inserted == 1
    assert report.rejected == [(3, "Beta Thusong", "unknown office code 'Home Affairs'")]


def test_a_file_without_the_column_leaves_offices_alone_and_a_present_column_is_the_truth(rt):
    import_centres(rt.sessions, HEAD + "Alpha Thusong,Gauteng,Soweto,HA;SASSA\n", rt.gazetteer)
    report = import_centres(rt.sessions, "name,province,town,notes\nAlpha Thusong,Gauteng,Soweto,moved\n", rt.gazetteer)
    assert report.updated == 1 and "offices" not in report.changes[0][3]
    assert _offices(rt) == {"Alpha Thusong": ["HA", "SASSA"]}
    report = import_centres(rt.sessions, HEAD + "Alpha Thusong,Gauteng,Soweto,\n", rt.gazetteer)
    assert report.changes[0][3] == ["notes", "offices"] and _offices(rt) == {"Alpha Thusong": []}


def test_the_shipped_seed_still_imports_with_no_offices(rt):
    assert "offices" not in SEED.read_text(encoding="utf-8").splitlines()[0]
    report = import_centres(rt.sessions, SEED.read_text(encoding="utf-8"), rt.gazetteer)
    assert not report.rejected and not any(_offices(rt).values())
    with rt.sessions() as s:
        first = s.scalars(select(Centre.id).order_by(Centre.id)).first()
    assert centre_offices(rt, first) == []
