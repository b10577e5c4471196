"""The centres CSV import runs in a worker, never in the web request: the upload is answered at
once with a page that reloads itself (no JavaScript) until the job is done; workers take staff
jobs only after citizens' replies and bulk; a job's page is its uploader's only; an account
disabled after the upload imports nothing. Real worker processes, real Redis and SQL."""

from __future__ import annotations

import io
import json
import re

import pytest
from rq import Worker
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from gateway import jobs
from gateway.directory.centre_csv import export_centres
from gateway.staff import centre_import, centres
from gateway.staff.accounts import set_active
from gateway.store.models import AuditEvent, Centre
from tests.workers import running_workers, start_worker, wait_until

NEW_ROW = "New Thusong Centre,Gauteng,,Soweto,,,,,,,,08:00-16:00,,,,,,,yes,grants\n"


def upload(auth, text: str, name: str = "centres.csv"):
    return auth.post("/staff/centres/import", {"file": (io.BytesIO(text.encode()), name)},
                     content_type="multipart/form-data")


def run_jobs(settings) -> None:
    """One real worker process until the queues are empty."""
    assert start_worker(settings, "--burst").wait(120) == 0


def staff_jobs(rt) -> list[Job]:
    return rt.queue(jobs.QUEUE_STAFF).jobs


@pytest.mark.slow
def test_the_upload_is_answered_at_once_and_a_worker_previews_it(seeded, client, auth, settings):
    """A 397 KB preview held a web worker for 24.7 s (2 MB: 86 s) while USSD hops waited for it."""
    admin = auth.as_role("admin")
    text = export_centres(seeded.sessions) + NEW_ROW
    sent = upload(auth, text)
    assert sent.status_code == 302, sent.status_code  # not the preview: nothing was checked in the request
    [job] = staff_jobs(seeded)
    assert job.func_name == jobs.CENTRES_PREVIEW
    staff_id, token, filename = job.args
    assert (staff_id, filename) == (admin.id, "centres.csv") and isinstance(token, str) and len(token) < 64
    assert json.loads(json.dumps(job.args)) == job.args  # ids and tokens only: the text stays held in Redis
    assert sent.headers["Location"].endswith(f"/staff/centres/import/jobs/{job.id}")

    waiting = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in waiting and "<script" not in waiting
    assert "Checking centres.csv" in waiting and "Waiting for a worker" in waiting
    assert "No worker is running" in waiting  # none yet: the admin is told, not left waiting

    run_jobs(settings)
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Preview of centres.csv: nothing is written yet" in page and "1 to add" in page
    assert "http-equiv" not in page
    with seeded.sessions() as s:
        assert s.scalar(select(Centre).where(Centre.name == "New Thusong Centre")) is None

    token = re.search(r'id="token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*id="token"', page)
    confirmed = auth.post("/staff/centres/import/confirm", {"token": next(filter(None, token.groups())),
                                                            "filename": "centres.csv"})
    assert confirmed.status_code == 302
    [job] = staff_jobs(seeded)
    assert job.func_name == jobs.CENTRES_IMPORT and json.loads(json.dumps(job.args)) == job.args
    with running_workers(settings):  # registered, then it takes the job
        wait_until(lambda: Worker.count(connection=seeded.redis) == 1 or staff_jobs(seeded) == [])
        importing = client.get(confirmed.headers["Location"]).get_data(as_text=True)
        assert "Importing centres.csv" in importing or "Imported: 1 added" in importing
        assert "No worker is running" not in importing
        done = wait_until(lambda: [page for page in [client.get(confirmed.headers["Location"]).get_data(as_text=True)]
                                   if "Imported:" in page])[0]
    assert "Imported: 1 added, 0 updated" in done
    with seeded.sessions() as s:
        assert s.scalar(select(Centre).where(Centre.name == "New Thusong Centre")) is not None


def test_a_worker_serves_replies_and_bulk_before_staff_jobs(seeded, settings, auth):
    """The staff job was queued first; one worker still answers the citizen-facing queues first."""
    admin = auth.add("admin")
    staff_job = centre_import.start_preview(seeded, admin, export_centres(seeded.sessions), "centres.csv")
    reply = seeded.queue(jobs.QUEUE_REPLIES).enqueue(jobs.PING, "reply")
    bulk = seeded.queue(jobs.QUEUE_BULK).enqueue(jobs.PING, "bulk")
    run_jobs(settings)
    fetched = {j.id: j for j in Job.fetch_many([staff_job, reply.id, bulk.id], connection=seeded.redis,
                                               serializer=JSONSerializer)}
    started = fetched[staff_job].started_at
    assert fetched[staff_job].return_value()["report"]["unchanged"] > 0
    assert fetched[reply.id].ended_at <= started and fetched[bulk.id].ended_at <= started, \
        (fetched[reply.id].ended_at, fetched[bulk.id].ended_at, started)


def test_a_job_page_is_only_its_uploaders(app, seeded, client, auth):
    admin = auth.as_role("admin")
    location = upload(auth, export_centres(seeded.sessions)).headers["Location"]
    assert client.get(location).status_code == 200
    other = auth.__class__(app.test_client(), seeded)
    other.as_role("admin", email="second@example.org")
    assert other.client.get(location).status_code == 404  # another admin: as if there were none
    ping = seeded.queue(jobs.QUEUE_REPLIES).enqueue(jobs.PING, admin.id)  # the admin's id, not an import
    for job_id in (ping.id, "no-such-job"):
        assert client.get(f"/staff/centres/import/jobs/{job_id}").status_code == 404


def test_an_account_disabled_after_confirming_imports_nothing(seeded, settings, auth):
    admin = auth.add("admin")
    token = centres.hold_upload(seeded, admin, export_centres(seeded.sessions) + NEW_ROW)
    job_id = centre_import.start_import(seeded, admin, token, "centres.csv", "127.0.0.1")
    assert centre_import.start_import(seeded, admin, token, "centres.csv", None) is None  # taken once
    set_active(seeded.sessions, admin.email, False)
    run_jobs(settings)
    done = centre_import.progress(seeded, admin, job_id)
    assert done.state == "done" and done.error == centre_import.NOT_ADMIN and done.report is None
    with seeded.sessions() as s:
        assert s.scalar(select(Centre).where(Centre.name == "New Thusong Centre")) is None
        assert s.scalars(select(AuditEvent.action)).all() == []
