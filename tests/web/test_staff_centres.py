"""The centres pages: list and search, edit (clerks: their centres only, by menu, typed URL or
tampered hidden field), CSV export and import with a dry-run preview then confirmation
(admins only), an audit row for each change, CSRF on every form."""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gateway.directory.centre_csv import export_centres
from gateway.staff import audit
from gateway.store.models import Centre
from tests.conftest import SEED_ROWS
from tests.workers import start_worker, wait_until

WEEK = {"hours_mon": "07:30-16:00", "hours_tue": "7:30 - 16:00", "hours_wed": "07:30-16:00",
        "hours_thu": "07:30-16:00", "hours_fri": "07:30-16:00", "hours_sat": "08:00-12:00", "hours_sun": "closed"}


def centre_ids(rt, n: int = 3) -> list[int]:
    with rt.sessions() as s:
        return list(s.scalars(select(Centre.id).order_by(Centre.id).limit(n)))


def centre(rt, centre_id: int) -> Centre:
    with rt.sessions() as s:
        return s.scalar(select(Centre).where(Centre.id == centre_id).options(selectinload(Centre.services)))


def form_of(rt, which: int, **changes) -> dict:
    """The edit form as the page would post it for the centre as stored, with ``changes``."""
    c = centre(rt, which)
    data = {"centre_id": str(c.id), "name": c.name, "address": c.address or "", "phone": c.phone or "",
            "latitude": "" if c.latitude is None else str(c.latitude),
            "longitude": "" if c.longitude is None else str(c.longitude),
            "services": [s.code for s in c.services],
            **{f"hours_{d}": getattr(c, f"hours_{d}") or "" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
    if c.active:
        data["active"] = "y"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def events(rt, action: str) -> list:
    return [e for e in audit.events(rt.sessions, action).events]


def test_admin_lists_every_centre_and_searches_by_name_town_and_province(seeded, client, auth):
    auth.as_role("admin")
    page = client.get("/staff/centres/").get_data(as_text=True)
    assert f"{SEED_ROWS} centres." in page and "Export CSV" in page and "Import CSV" in page
    soweto = client.get("/staff/centres/?q=soweto").get_data(as_text=True)
    assert "Maponya" in soweto and "found" in soweto and "Mthatha" not in soweto
    free_state = client.get("/staff/centres/?q=free+state").get_data(as_text=True)
    assert "Gauteng" not in free_state and "Free State" in free_state


def test_a_clerk_sees_only_their_centres_and_no_csv(seeded, client, auth):
    mine, other, _ = centre_ids(seeded)
    auth.as_role("clerk", [mine])
    page = client.get("/staff/centres/").get_data(as_text=True)
    assert "1 centre." in page and centre(seeded, mine).name in page and centre(seeded, other).name not in page
    assert f'href="/staff/centres/{mine}"' in page
    assert "CSV import and export are for administrators." in page and "Export CSV" not in page
    search = client.get(f"/staff/centres/?q={centre(seeded, other).name.split()[0]}").get_data(as_text=True)
    assert centre(seeded, other).name not in search
    for path in ("/staff/centres/export.csv", "/staff/centres/import", "/staff/centres/import/jobs/x"):
        assert client.get(path).status_code == 403
    assert auth.post("/staff/centres/import/confirm", {"token": "x"}).status_code == 403
    assert events(seeded, "csv") == []


def test_a_clerk_cannot_open_or_post_another_centres_edit_page(seeded, client, auth):
    mine, other, _ = centre_ids(seeded)
    auth.as_role("clerk", [mine])
    assert client.get(f"/staff/centres/{other}").status_code == 404  # typed URL: as if it did not exist
    assert client.get("/staff/centres/999999").status_code == 404
    before = centre(seeded, other).name
    response = auth.post(f"/staff/centres/{other}", form_of(seeded, other, name="Hijacked"))
    assert response.status_code == 404 and centre(seeded, other).name == before
    assert events(seeded, "centre.edited") == []


def test_a_tampered_hidden_centre_id_is_refused(seeded, client, auth):
    mine, other, _ = centre_ids(seeded)
    auth.as_role("clerk", [mine])
    names = centre(seeded, mine).name, centre(seeded, other).name
    page = client.get(f"/staff/centres/{mine}").get_data(as_text=True)
    assert re.search(rf'<input[^>]*name="centre_id"[^>]*type="hidden"[^>]*value="{mine}"|'
                     rf'<input[^>]*type="hidden"[^>]*name="centre_id"[^>]*value="{mine}"|'
                     rf'<input[^>]*id="centre_id"[^>]*value="{mine}"', page), page
    response = auth.post(f"/staff/centres/{mine}", form_of(seeded, mine, centre_id=str(other), name="Hijacked"))
    assert response.status_code == 403
    assert (centre(seeded, mine).name, centre(seeded, other).name) == names
    # Invalid as well as tampered: still refused, not re-shown with the other id.
    response = auth.post(f"/staff/centres/{mine}", form_of(seeded, mine, centre_id=str(other), name=""))
    assert response.status_code == 403
    assert events(seeded, "centre.edited") == []


def test_a_clerk_edits_their_centre_and_ussd_shows_it_at_once(seeded, client, auth):
    mine = centre_ids(seeded, 1)[0]
    clerk = auth.as_role("clerk", [mine])
    seeded.browse.centre(mine)  # the snapshot is loaded before the edit
    response = auth.post(f"/staff/centres/{mine}", form_of(
        seeded, mine, name="Renamed Thusong Centre", phone="012 345 6789", services=["grants", "postal"],
        **WEEK))
    assert response.status_code == 302, response.get_data(as_text=True)
    saved = centre(seeded, mine)
    assert (saved.name, saved.phone, saved.hours_tue, saved.hours_sun) == (
        "Renamed Thusong Centre", "012 345 6789", "07:30-16:00", "closed")
    assert sorted(s.code for s in saved.services) == ["grants", "postal"]
    details = seeded.browse.centre(mine)
    assert (details.name, details.phone, details.hours) == (
        "Renamed Thusong Centre", "012 345 6789", "Mon-Fri 07:30-16:00, Sat 08:00-12:00")
    [event] = events(seeded, "centre.edited")
    assert (event.actor, event.staff_id, event.target) == (clerk.email, clerk.id, f"centre {mine} Renamed Thusong Centre")
    detail = json.loads(event.detail)
    assert detail["phone"][1] == "012 345 6789" and detail["hours_tue"] == [None, "07:30-16:00"]
    assert detail["services"][1] == ["grants", "postal"] and "address" not in detail
    # Closing it takes it off the citizens' lists.
    assert auth.post(f"/staff/centres/{mine}", {k: v for k, v in form_of(seeded, mine).items()
                                                if k != "active"}).status_code == 302
    assert mine not in {e.id for e in seeded.directory.entries()}
    page = client.get(f"/staff/centres/{mine}").get_data(as_text=True)
    assert "Mon-Fri 07:30-16:00, Sat 08:00-12:00" in page


@pytest.mark.parametrize("changes, field, message", [
    ({"hours_wed": "8am-4pm"}, "hours_wed", "HH:MM-HH:MM"),
    ({"hours_mon": "16:00-08:00"}, "hours_mon", "closes before it opens"),
    ({"latitude": "-26.2", "longitude": ""}, "latitude", "both latitude and longitude"),
    ({"latitude": "51.5", "longitude": "-0.1"}, "latitude", "outside South Africa"),
    ({"services": ["grants", "teleport"]}, "services", "unknown service"),
], ids=["bad-hours", "backwards-hours", "half-a-point", "london", "unknown-service"])
def test_a_bad_edit_is_shown_on_the_form_and_saves_nothing(seeded, client, auth, changes, field, message):
    mine = centre_ids(seeded, 1)[0]
    auth.as_role("clerk", [mine])
    before = form_of(seeded, mine)
    page = auth.post(f"/staff/centres/{mine}", form_of(seeded, mine, phone="000", **changes))
    assert page.status_code == 200 and message in page.get_data(as_text=True)
    assert form_of(seeded, mine) == before and events(seeded, "centre.edited") == []


def test_renaming_onto_another_centres_name_is_refused(seeded, client, auth):
    mine, other, _ = centre_ids(seeded)
    auth.as_role("admin")
    page = auth.post(f"/staff/centres/{mine}", form_of(seeded, mine, name=centre(seeded, other).name.upper()))
    assert "another centre already has that name" in page.get_data(as_text=True)


def test_an_approver_may_list_but_not_edit(seeded, client, auth):
    mine = centre_ids(seeded, 1)[0]
    auth.as_role("approver")
    assert f"{SEED_ROWS} centres." in client.get("/staff/centres/").get_data(as_text=True)
    assert client.get(f"/staff/centres/{mine}").status_code == 403


def test_admin_exports_the_csv_and_it_is_audited(seeded, client, auth):
    admin = auth.as_role("admin")
    response = client.get("/staff/centres/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True) == export_centres(seeded.sessions)
    [event] = events(seeded, "csv.exported")
    assert event.actor == admin.email and json.loads(event.detail) == {"centres": SEED_ROWS}


def upload(auth, text: str, name: str = "centres.csv", settings=None):
    """Upload ``text``; with ``settings``, a worker then runs the preview job and the answer is
    the page the upload's redirect leads to once the job is done."""
    sent = auth.post("/staff/centres/import", {"file": (io.BytesIO(text.encode()), name)},
                     content_type="multipart/form-data")
    return sent if settings is None else after_jobs(auth, settings, sent)


def after_jobs(auth, settings, response):
    """Follow ``response``'s redirect to an import job's page after a worker has run the jobs."""
    assert response.status_code == 302, response.get_data(as_text=True)
    start_worker(settings, "--burst").wait(120)
    return auth.client.get(response.headers["Location"], follow_redirects=True)


def test_import_previews_first_then_applies_on_confirmation(seeded, client, auth, settings):
    admin = auth.as_role("admin")
    lines = export_centres(seeded.sessions).splitlines()
    first = lines[1].split(",")[0]
    lines[1] = lines[1].replace(",yes,", ",no,", 1)
    lines.append("Bad Thusong,Atlantis,,,,,,,,,,,,,,,,,,")  # the last line: unknown province
    lines.append("New Thusong Centre,Gauteng,,Soweto,,,,,,,,08:00-16:00,,,,,,,yes,grants")  # the line after
    text = "\n".join(lines) + "\n"
    preview = upload(auth, text, settings=settings)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "nothing is written yet" in page
    assert f"1 to add, 1 to update, {SEED_ROWS - 1} unchanged, 1 rejected." in page
    assert (f'<td data-label="Line">{SEED_ROWS + 2}</td><td data-label="Name">Bad Thusong</td>'
            f'<td data-label="Why">unknown province &#39;Atlantis&#39;</td>') in page
    assert f'<td data-label="Line">2</td><td data-label="Name">{first}</td><td data-label="What">updated: active</td>' in page
    assert (f'<td data-label="Line">{SEED_ROWS + 3}</td><td data-label="Name">New Thusong Centre</td>'
            f'<td data-label="What">inserted</td>') in page
    with seeded.sessions() as s:
        assert s.scalar(select(Centre).where(Centre.name == "New Thusong Centre")) is None
    assert centre(seeded, centre_ids(seeded, 1)[0]).active is True and events(seeded, "csv") == []
    token = re.search(r'name="token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="token"', page)
    token = next(filter(None, token.groups()))
    done = after_jobs(auth, settings, auth.post("/staff/centres/import/confirm", {"token": token}))
    assert done.status_code == 200 and f"Imported: 1 added, 1 updated, {SEED_ROWS - 1} unchanged, 1 rejected." in done.get_data(as_text=True)
    assert centre(seeded, centre_ids(seeded, 1)[0]).active is False
    [event] = events(seeded, "csv.imported")
    assert event.actor == admin.email
    assert json.loads(event.detail) == {"inserted": 1, "updated": 1, "unchanged": SEED_ROWS - 1,
                                         "rejected_lines": [SEED_ROWS + 2]}
    # The worker that imported told every process; this one reloads at its next look (≤ 1 s).
    wait_until(lambda: first not in {e.name for e in seeded.directory.entries()}, timeout=5, every=0.05)
    again = auth.post("/staff/centres/import/confirm", {"token": token})  # a second confirm: gone
    assert again.status_code == 302 and len(events(seeded, "csv.imported")) == 1


def test_another_admin_cannot_confirm_someone_elses_preview(app, seeded, client, auth, settings):
    auth.as_role("admin")
    page = upload(auth, export_centres(seeded.sessions), settings=settings).get_data(as_text=True)
    token = next(filter(None, re.search(r'name="token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="token"',
                                        page).groups()))
    other = auth.__class__(app.test_client(), seeded)
    other.as_role("admin", email="second@example.org")
    assert other.post("/staff/centres/import/confirm", {"token": token}).status_code == 302
    assert events(seeded, "csv.imported") == []


def test_an_old_format_file_previews_and_a_big_one_is_accepted(seeded, client, auth, settings):
    from gateway.directory.centre_csv import SEED

    auth.as_role("admin")
    page = upload(auth, SEED.read_text(encoding="utf-8"), settings=settings).get_data(as_text=True)
    assert f"0 to add, 0 to update, {SEED_ROWS} unchanged, 0 rejected." in page
    big = export_centres(seeded.sessions) + "".join(
        f"Centre {i:04d},Gauteng,,Soweto,,,,,,,{'x' * 300},,,,,,,,yes,\n" for i in range(400))
    assert len(big) > 64 * 1024
    page = upload(auth, big, settings=settings)
    assert page.status_code == 200 and "400 to add" in page.get_data(as_text=True)


def test_non_utf8_and_column_less_files_are_explained(seeded, client, auth, settings):
    auth.as_role("admin")
    page = auth.post("/staff/centres/import", {"file": (io.BytesIO("naïve".encode("latin-1")), "x.csv")},
                     content_type="multipart/form-data").get_data(as_text=True)
    assert "not UTF-8" in page
    assert "CSV lacks required columns: province" in upload(auth, "name,town\nX,Y\n", settings=settings).get_data(as_text=True)


@pytest.mark.parametrize("path", ["/staff/centres/{id}", "/staff/centres/import", "/staff/centres/import/confirm"],
                         ids=["edit", "import", "confirm"])
def test_posts_without_a_csrf_token_are_refused(seeded, client, auth, path):
    mine = centre_ids(seeded, 1)[0]
    auth.as_role("admin")
    response = client.post(path.format(id=mine), data=form_of(seeded, mine, name="No token"))
    assert response.status_code in (200, 302)  # shown again: tests/web/test_staff_stale_forms.py
    assert centre(seeded, mine).name != "No token"
