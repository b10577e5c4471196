"""Jobs that carry the request id of the web request that queued them, so that an operator can
follow one citizen's SMS from the webhook's log line to the worker's lines that answered it.

Contract: :class:`TracedQueue` stores the current request id (:func:`config.current_request_id`)
in the meta of every job it creates, scheduled ones included; :class:`TracedJob` binds it again
while the job runs in a worker, so every log line of the job names it. A job queued outside a
request (the sweeper, a command) carries none and logs none.
"""

from __future__ import annotations

from typing import Any

from rq import Queue
from rq.job import Job

from config import bind_request_id, current_request_id

META_KEY = "request_id"


class TracedQueue(Queue):
    """An RQ queue whose jobs remember the request that queued them."""

    def create_job(self, *args, **kwargs) -> Job:
        request_id = current_request_id()
        if request_id:
            kwargs["meta"] = {**(kwargs.get("meta") or {}), META_KEY: request_id}
        return super().create_job(*args, **kwargs)


class TracedJob(Job):
    """An RQ job that logs under the request id it was queued with."""

    def perform(self) -> Any:
        with bind_request_id((self.meta or {}).get(META_KEY)):
            return super().perform()
