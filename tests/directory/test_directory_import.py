"""Centres import: re-runnable upsert, bad rows reported by line (good rows written), nothing written on a crash."""

import pytest
from sqlalchemy import func, select

from gateway.directory.centre_csv import export_centres, import_centres
from gateway.store.models import Centre, Municipality, Province, Service, ServiceBlock
from tests.conftest import SEED, SEED_ROWS

HEADER = "name,province,municipality,town,address,phone,latitude,longitude,source,coord_source,notes\n"


def _count(rt, model=Centre):
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def _rows(rt):
    with rt.sessions() as s:
        return sorted(
            (c.key, c.name, c.province_id, c.municipality_id, c.town, c.latitude, c.longitude, c.active)
            for c in s.scalars(select(Centre))
        )


def test_migrations_create_reference_data(rt):
    assert _count(rt, Province) == 9
    assert _count(rt, ServiceBlock) == 6
    with rt.sessions() as s:
        codes = set(s.scalars(select(Service.code)))
    assert {"grants", "documents", "housing", "postal", "abet", "business_advice", "retail", "guidance"} <= codes


def test_importing_the_same_file_twice_leaves_the_same_rows(seeded):
    before = _rows(seeded)
    report = import_centres(seeded.sessions, SEED.read_text(), seeded.gazetteer)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, SEED_ROWS)
    assert _rows(seeded) == before and len(before) == SEED_ROWS
    assert _count(seeded, Municipality) == len({r[3] for r in before if r[3]})


def test_export_then_import_is_a_no_op(seeded):
    text = export_centres(seeded.sessions)
    assert text.splitlines()[0] == HEADER.strip() + ",hours_mon,hours_tue,hours_wed,hours_thu,hours_fri," \
                                                   "hours_sat,hours_sun,active,services,offices"
    report = import_centres(seeded.sessions, text, seeded.gazetteer)
    assert report.unchanged == SEED_ROWS and not report.rejected


def test_bad_rows_are_reported_by_line_and_good_rows_imported(rt):
    text = HEADER + (
        "Good One Thusong Centre,Gauteng,,Soweto,,,,,,,\n"  # line 2
        ",Gauteng,,Soweto,,,,,,,\n"  # line 3: missing name
        "Latitude Thusong,Gauteng,,,,,200,28.0,,,\n"  # line 4: latitude 200
        'Multi Thusong,Gauteng,,"Alexandra\n(north)",,,,,,,\n'  # lines 5-6: a quoted newline
        "Province Thusong,Gautang Central,,,,,,,,,\n"  # line 7: unknown province
        "Good Two Thusong Centre,Free State,Mangaung,Botshabelo,,,,,,,closed in 2019\n"  # line 8
        "Longitude Thusong,Limpopo,,,,,-23.9,west,,,\n"  # line 9
    )
    report = import_centres(rt.sessions, text, rt.gazetteer)
    assert report.inserted == 3
    assert [(line, reason.split(" ")[0]) for line, _n, reason in report.rejected] == [
        (3, "missing"),
        (4, "latitude"),
        (7, "unknown"),
        (9, "latitude/longitude"),
    ]
    with rt.sessions() as s:
        good = s.scalar(select(Centre).where(Centre.name == "Good One Thusong Centre"))
        closed = s.scalar(select(Centre).where(Centre.name == "Good Two Thusong Centre"))
    assert good.coord_source == "gazetteer" and good.latitude == pytest.approx(-26.27, abs=0.01)
    assert closed.active is False


def test_a_crash_mid_import_writes_nothing(rt, monkeypatch):
    from tests.conftest import SEED

    calls = {"n": 0}
    real = rt.gazetteer.exact

    def exploding(text):
        calls["n"] += 1
        if calls["n"] == 10:
            raise RuntimeError("disk on fire")
        return real(text)

    monkeypatch.setattr(rt.gazetteer, "exact", exploding)
    with pytest.raises(RuntimeError):
        import_centres(rt.sessions, SEED.read_text(), rt.gazetteer)
    assert _count(rt) == 0 and _count(rt, Municipality) == 0


def test_missing_columns_are_refused(rt):
    with pytest.raises(ValueError, match="province"):
        import_centres(rt.sessions, "name,town\nX,Y\n", rt.gazetteer)


def test_cli_import_reports_rejects_and_exits_1(rt, tmp_path, settings, monkeypatch):
    from click.testing import CliRunner

    from gateway.cli import main

    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + ",Gauteng,,,,,,,,,\nOk Thusong,Gauteng,,Soweto,,,,,,,\n")
    result = CliRunner().invoke(main, ["centres", "import", "--quiet", str(bad)])
    assert result.exit_code == 1, result.output
    assert "inserted 1" in result.output and "rejected line 2" in result.output


def test_cli_dry_run_writes_nothing_and_a_real_import_is_audited(rt, tmp_path, settings, monkeypatch):
    from click.testing import CliRunner

    from gateway.cli import main
    from gateway.staff import audit

    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "Ok Thusong,Gauteng,,Soweto,,,,,,,\n")
    result = CliRunner().invoke(main, ["centres", "import", "--quiet", "--dry-run", str(good)])
    assert result.exit_code == 0 and "dry run, nothing written: inserted 1" in result.output
    assert _count(rt) == 0 and audit.events(rt.sessions).total == 0
    result = CliRunner().invoke(main, ["centres", "import", "--quiet", str(good)])
    assert result.exit_code == 0 and _count(rt) == 1
    [event] = audit.events(rt.sessions, "csv.imported").events
    assert (event.actor, event.target) == ("cli", "good.csv")
