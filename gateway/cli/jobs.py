"""``thusong jobs``: the jobs that failed, by queue and error, and ``thusong jobs requeue`` to
run them again — over RQ's own failed-job registry (no queue code of ours).

What an operator woken at night needs: which queue, how many, failing with what, and one
command to retry them once the cause is fixed. Errors are shown by their last line (the
exception), masked: a job's arguments are ids, but an error message may quote a number.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC

import click
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from config import mask_phone
from gateway import jobs as job_names
from gateway.cli.common import runtime_for
from gateway.runtime import Runtime

ERROR_CHARS = 160  # one terminal line


def error_line(job: Job) -> str:
    """The failure's last line (``ValueError: …``), masked and cut to one line."""
    result = job.latest_result()
    text = (result.exc_string if result is not None and result.exc_string else "").strip().splitlines()
    return mask_phone(text[-1] if text else "(no error recorded)")[:ERROR_CHARS]


def failed_jobs(rt: Runtime, queue: str) -> list[Job]:
    """The failed jobs of ``queue``, newest first (jobs whose data expired are skipped)."""
    registry = FailedJobRegistry(queue=rt.queue(queue))
    ids = registry.get_job_ids(desc=True)
    return [job for job in Job.fetch_many(ids, connection=rt.redis, serializer=rt.queue(queue).serializer)
            if job is not None]


def _queues(queue: str | None) -> tuple[str, ...]:
    return (queue,) if queue else job_names.QUEUES


def _when(job: Job) -> str:
    ended = job.ended_at
    return ended.replace(tzinfo=UTC).isoformat(timespec="seconds") if ended else "?"


@click.group("jobs", invoke_without_command=True)
@click.option("--queue", type=click.Choice(job_names.QUEUES), default=None, help="Only this queue.")
@click.option("--each", is_flag=True, help="One line per job (id, when, function, error).")
@click.pass_context
def jobs(ctx: click.Context, queue: str | None, each: bool) -> None:
    """Failed jobs by queue and error (counts; --each lists them). Exit status 1 if any."""
    if ctx.invoked_subcommand:
        return
    rt = runtime_for()
    total = 0
    try:
        for name in _queues(queue):
            failed = failed_jobs(rt, name)
            total += len(failed)
            click.echo(f"queue {name}: {len(failed)} failed")
            if each:
                for job in failed:
                    click.echo(f"  {job.id}  {_when(job)}  {job.func_name}  {error_line(job)}")
                continue
            for error, count in Counter(error_line(job) for job in failed).most_common():
                click.echo(f"  {count:>5}  {error}")
    finally:
        rt.close()
    if total:
        click.echo(f"{total} failed job(s): `thusong jobs requeue --all` runs them again", err=True)
        ctx.exit(1)


@jobs.command("requeue")
@click.argument("ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every failed job (of --queue, or of every queue).")
@click.option("--queue", type=click.Choice(job_names.QUEUES), default=None, help="Only this queue.")
def requeue(ids: tuple[str, ...], every: bool, queue: str | None) -> None:
    """Put failed jobs back on their queue: the IDS given, or --all. Prints how many; exit
    status 1 naming any id that is not a failed job (unknown, expired, already requeued)."""
    if bool(ids) == every:
        raise click.UsageError("give job ids or --all (not both)")
    rt = runtime_for()
    done, left = 0, list(dict.fromkeys(ids))
    try:
        for name in _queues(queue):
            registry = FailedJobRegistry(queue=rt.queue(name))
            for job_id in registry.get_job_ids() if every else [i for i in left if i in registry]:
                try:
                    registry.requeue(job_id)
                    done += 1
                except (InvalidJobOperation, NoSuchJobError):
                    continue  # requeued by someone else meanwhile, or its data expired
                if job_id in left:
                    left.remove(job_id)
    finally:
        rt.close()
    click.echo(f"requeued {done} job(s)")
    if left and not every:
        raise click.ClickException(f"not a failed job (unknown, expired or already requeued): {', '.join(left)}")
