"""The centres CSV import (its preview and the confirmed import) as a worker job, so that no web
process spends seconds on it while citizens' USSD hops wait behind it.

Contract: the web holds the uploaded text (:func:`~gateway.staff.centres.hold_upload`) and
queues a job that gets only the account id and the upload's token (:func:`start_preview`,
:func:`start_import`); the job runs :func:`~gateway.staff.centres.import_csv` exactly as the
web did, checks and all, and leaves its outcome as the RQ job's result. :func:`progress`
reads it back for the page that shows it, and only for the account that started it (anyone
else, or an id that is not an import job, gets ``None``: the same answer as no such job).

The queue is :data:`gateway.jobs.QUEUE_STAFF`: workers take a job from it only when no reply
and no bulk job waits, so a citizen's reply never waits behind a staff job in the queue.

A preview takes the held upload and holds it again under a new token, which the confirm form
carries; the confirmation takes that one (in the web, so a second click finds it gone at once)
and holds it for the import job. Every job checks again that its account is still an active
administrator: one disabled or demoted after the upload imports nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from rq import Worker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from gateway import jobs
from gateway.directory.centre_csv import ImportReport
from gateway.runtime import Runtime
from gateway.staff import centres
from gateway.staff.accounts import Member, get_member

JOB_TIMEOUT = 600  # a 2 MiB file is seconds; room for a slow database
RESULT_TTL = centres.UPLOAD_TTL  # the outcome lasts as long as the upload it confirms
PROGRESS_EVERY = 0.5  # seconds between two saves of the rows checked so far
EXPIRED = "That preview has expired or was already imported: upload the file again."
NOT_ADMIN = "Your account may no longer import centres."
_KINDS = {jobs.CENTRES_PREVIEW: "preview", jobs.CENTRES_IMPORT: "import"}


@dataclass(frozen=True)
class ImportProgress:
    """One import job as its page shows it."""

    kind: str  # "preview" | "import"
    state: str  # "waiting" | "running" | "done" | "failed"
    filename: str
    rows: int  # rows checked so far
    ahead: int | None  # while waiting: jobs before it in the staff queue
    report: ImportReport | None  # when done
    token: str | None  # a done preview: the held upload its confirm form carries
    error: str | None  # done without a report: why (missing columns, expired, not an admin)
    workers: int | None = None  # while waiting: RQ workers registered (0: nobody will take it)


def start_preview(rt: Runtime, member: Member, text: str, filename: str) -> str:
    """Hold ``text`` and queue its preview; returns the job's id (for :func:`progress`)."""
    token = centres.hold_upload(rt, member, text)
    return _enqueue(rt, jobs.CENTRES_PREVIEW, member.id, token, filename[:200])


def start_import(rt: Runtime, member: Member, token: str, filename: str, address: str | None) -> str | None:
    """Take the upload a preview held under ``token`` and queue its import; the job's id, or
    None if there is no such upload for ``member`` (expired, or already confirmed)."""
    text = centres.take_upload(rt, member, token)
    if text is None:
        return None
    held = centres.hold_upload(rt, member, text)
    return _enqueue(rt, jobs.CENTRES_IMPORT, member.id, held, filename[:200], address)


def _enqueue(rt: Runtime, func: str, *args) -> str:
    job = rt.queue(jobs.QUEUE_STAFF).enqueue(func, *args, job_timeout=JOB_TIMEOUT, result_ttl=RESULT_TTL,
                                              failure_ttl=RESULT_TTL)
    return job.id


def _admin(rt: Runtime, staff_id: int) -> Member | None:
    member = get_member(rt.sessions, staff_id)
    return member if member is not None and member.active and member.is_admin else None


def _held(rt: Runtime, staff_id: int, token: str) -> tuple[Member, str] | dict:
    """The job's account (still an active admin) and the upload it was given, or the error."""
    member = _admin(rt, staff_id)
    if member is None:
        return {"error": NOT_ADMIN}
    text = centres.take_upload(rt, member, token)
    return {"error": EXPIRED} if text is None else (member, text)


def run_preview(rt: Runtime, staff_id: int, token: str, filename: str,
                progress: Callable[[int], None] | None = None) -> dict:
    """The job: preview the held upload; {"report", "token"} or {"error"} (JSON-safe)."""
    held = _held(rt, staff_id, token)
    if isinstance(held, dict):
        return held
    member, text = held
    try:
        report = centres.import_csv(rt, member, text, dry_run=True, progress=progress or _saved_progress())
    except ValueError as exc:  # a missing column, a file that is not CSV: said on the page
        return {"error": str(exc)}
    return {"report": asdict(report), "token": centres.hold_upload(rt, member, text)}


def run_import(rt: Runtime, staff_id: int, token: str, filename: str, address: str | None,
               progress: Callable[[int], None] | None = None) -> dict:
    """The job: import the held upload (audited as the account, from ``address``)."""
    held = _held(rt, staff_id, token)
    if isinstance(held, dict):
        return held
    member, text = held
    try:
        report = centres.import_csv(rt, member, text, address=address, progress=progress or _saved_progress())
    except ValueError as exc:  # the columns were checked at the preview; kept for safety
        return {"error": str(exc)}
    return {"report": asdict(report)}


def _saved_progress() -> Callable[[int], None] | None:
    """A ``progress`` callback that saves the rows checked so far in the running job's meta,
    at most every :data:`PROGRESS_EVERY` seconds (None outside a job)."""
    job = get_current_job()
    if job is None:
        return None
    count, last = 0, time.monotonic()

    def tick(n: int) -> None:
        nonlocal count, last
        count += n
        if time.monotonic() - last >= PROGRESS_EVERY:
            last = time.monotonic()
            job.meta["rows"] = count
            job.save_meta()

    return tick


def progress(rt: Runtime, member: Member, job_id: str) -> ImportProgress | None:
    """Job ``job_id`` as ``member`` may see it, or None (no such import job, or not theirs)."""
    try:
        job = Job.fetch(job_id, connection=rt.redis, serializer=JSONSerializer)
    except NoSuchJobError:
        return None
    if job.func_name not in _KINDS or not job.args or job.args[0] != member.id:
        return None
    kind, filename = _KINDS[job.func_name], job.args[2]
    status = job.get_status()
    if status == JobStatus.FINISHED:
        done = job.return_value() or {}
        report = ImportReport(**done["report"]) if "report" in done else None
        return ImportProgress(kind, "done", filename, report.accepted + report.rejected_rows if report else 0,
                              None, report, done.get("token"), done.get("error"))
    if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        return ImportProgress(kind, "failed", filename, 0, None, None, None, None)
    rows = int(job.get_meta().get("rows", 0))
    if status == JobStatus.STARTED:
        return ImportProgress(kind, "running", filename, rows, None, None, None, None)
    return ImportProgress(kind, "waiting", filename, rows, job.get_position(), None, None, None,
                          Worker.count(connection=rt.redis))
