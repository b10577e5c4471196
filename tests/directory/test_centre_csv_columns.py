"""The CSV carries hours per weekday, active and services: export → import changes nothing and
a second export is byte-identical; older files (seed columns only) still import and leave those
fields alone; a dry run reports what an import would do and writes nothing."""

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from gateway.directory.centre_csv import COLUMNS, SEED, export_centres, import_centres
from gateway.store.models import Centre, Municipality, Office, Service
from tests.conftest import SEED_ROWS

HEADER = ",".join(COLUMNS) + "\n"


def _edit_some(rt) -> None:
    """Give three seed centres hours, a closure and services (what staff do in the dashboard)."""
    with rt.sessions.begin() as s:
        first, second, third = s.scalars(select(Centre).order_by(Centre.id).limit(3)).all()
        services = {x.code: x for x in s.scalars(select(Service))}
        for day in ("mon", "tue", "wed", "thu", "fri"):
            setattr(first, f"hours_{day}", "07:30-16:00")
        first.hours_sat, first.hours_sun = "08:00-12:00", "closed"
        first.services = [services["grants"], services["documents"], services["postal"]]
        offices = {x.code: x for x in s.scalars(select(Office))}
        first.offices = [offices["HA"], offices["UIF"]]
        second.active = False
        second.hours_mon = "08:00-12:30,13:30-16:00"
        third.services = []


def _state(rt) -> list[tuple]:
    with rt.sessions() as s:
        rows = s.scalars(select(Centre).options(selectinload(Centre.services), selectinload(Centre.offices))
                         .order_by(Centre.id)).all()
        return [(c.name, c.active, c.hours_mon, c.hours_sat, c.hours_sun, c.latitude, c.coord_source,
                 sorted(x.code for x in c.services), sorted(x.code for x in c.offices), c.updated_at) for c in rows]


def test_export_import_export_is_byte_identical_and_changes_nothing(seeded):
    _edit_some(seeded)
    before = _state(seeded)
    first = export_centres(seeded.sessions)
    assert first.startswith(HEADER)
    row = first.splitlines()[1]
    assert row.endswith(",07:30-16:00,07:30-16:00,07:30-16:00,07:30-16:00,07:30-16:00,08:00-12:00,closed,"
                        "yes,grants;documents;postal,HA;UIF"), row
    report = import_centres(seeded.sessions, first, seeded.gazetteer)
    assert (report.inserted, report.updated, report.unchanged, report.rejected) == (0, 0, SEED_ROWS, [])
    assert _state(seeded) == before  # updated_at included: no row was even touched
    assert export_centres(seeded.sessions) == first


def test_export_into_an_empty_directory_rebuilds_the_same_export(seeded):
    _edit_some(seeded)
    text = export_centres(seeded.sessions)
    with seeded.sessions.begin() as s:
        for c in s.scalars(select(Centre)):
            s.delete(c)
    report = import_centres(seeded.sessions, text, seeded.gazetteer)
    assert report.inserted == SEED_ROWS and not report.rejected
    # Ids are new, so the order is the import's: the file's order, the same as before.
    assert export_centres(seeded.sessions) == text


def test_an_old_file_still_imports_and_leaves_hours_active_and_services_alone(seeded):
    _edit_some(seeded)
    before = _state(seeded)
    report = import_centres(seeded.sessions, SEED.read_text(encoding="utf-8"), seeded.gazetteer)
    assert (report.inserted, report.updated, report.unchanged, report.rejected) == (0, 0, SEED_ROWS, [])
    assert _state(seeded) == before


def test_new_columns_set_hours_active_and_services(rt):
    text = HEADER + (
        "Alpha Thusong Centre,Gauteng,,Soweto,,,,,,,,07:30-16:00,7:30 - 16:00,07:30-16:00,07:30-16:00,"
        "07:30-16:00,closed,,no,grants; housing\n"  # line 2
        "Beta Thusong Centre,Gauteng,,Soweto,,,,,,,closed in 2019,,,,,,,,yes,\n"  # line 3: active column wins
        "Gamma Thusong Centre,Gauteng,,Soweto,,,,,,,,8am-4pm,,,,,,,,\n"  # line 4: bad hours
        "Delta Thusong Centre,Gauteng,,Soweto,,,,,,,,,,,,,,,maybe,\n"  # line 5: bad active
        "Epsilon Thusong Centre,Gauteng,,Soweto,,,,,,,,,,,,,,,,grants;teleport\n"  # line 6: bad code
    )
    report = import_centres(rt.sessions, text, rt.gazetteer)
    assert report.inserted == 2
    assert [(line, name, reason.split(":")[0]) for line, name, reason in report.rejected] == [
        (4, "Gamma Thusong Centre", "hours_mon"),
        (5, "Delta Thusong Centre", "active must be yes or no, not 'maybe'"),
        (6, "Epsilon Thusong Centre", "unknown service code 'teleport'"),
    ]
    with rt.sessions() as s:
        alpha = s.scalar(select(Centre).where(Centre.name == "Alpha Thusong Centre")
                         .options(selectinload(Centre.services)))
        beta = s.scalar(select(Centre).where(Centre.name == "Beta Thusong Centre"))
        assert (alpha.hours_tue, alpha.hours_sat, alpha.hours_sun, alpha.active) == (
            "07:30-16:00", "closed", None, False)
        assert sorted(x.code for x in alpha.services) == ["grants", "housing"]
        assert beta.active is True


def test_a_dry_run_reports_the_same_and_writes_nothing(rt):
    text = SEED.read_text(encoding="utf-8") + "Bad Thusong,Nowhere,,,,,,,,,\n"
    dry = import_centres(rt.sessions, text, rt.gazetteer, dry_run=True)
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Centre)) == 0
        assert s.scalar(select(func.count()).select_from(Municipality)) == 0
    assert (dry.inserted, dry.updated, dry.unchanged) == (SEED_ROWS, 0, 0)
    assert [line for line, _n, _r in dry.rejected] == [SEED_ROWS + 2]  # header is line 1
    real = import_centres(rt.sessions, text, rt.gazetteer)
    assert (real.inserted, real.rejected, real.changes) == (dry.inserted, dry.rejected, dry.changes)


def test_an_update_names_the_fields_it_changes(seeded):
    text = export_centres(seeded.sessions)
    lines = text.splitlines()
    name = lines[1].split(",")[0]
    lines[1] = lines[1].replace(",yes,", ",no,", 1)
    dry = import_centres(seeded.sessions, "\n".join(lines) + "\n", seeded.gazetteer, dry_run=True)
    assert (dry.updated, dry.unchanged) == (1, SEED_ROWS - 1)
    assert dry.changes == [(2, name, "updated", ["active"])]
