"""One id per web request, on every log line it causes, and one access line per request.

:class:`RequestLog` is WSGI middleware, outermost but for the proxy fix, so both apps (the
pages and AT's callbacks) get it: it takes the id nginx gives (``X-Request-Id``, from
``$request_id``) when it looks like one, else makes one; binds it for the request's log lines
and the jobs the request queues (:mod:`gateway.traced`); sends it back as ``X-Request-Id``;
and, with ``LOG_JSON``, writes one line per request (method, path without the query — the
webhook token lives there —, status, milliseconds) on the ``gateway.web.access`` logger.
"""

from __future__ import annotations

import logging
import os
import re
import time

from config import bind_request_id

log = logging.getLogger("gateway.web.access")
_GIVEN = re.compile(r"[A-Za-z0-9-]{8,64}")  # nginx's $request_id is 32 hex digits


class RequestLog:
    def __init__(self, app, access_lines: bool):
        self.app, self.access_lines = app, access_lines

    def __call__(self, environ, start_response):
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _GIVEN.fullmatch(given) else os.urandom(8).hex()  # 16 hex digits, no UUID object
        seen: list[str] = []

        def start(status, headers, exc_info=None):
            seen.append(status)
            return start_response(status, [*headers, ("X-Request-Id", request_id)], exc_info)

        started = time.perf_counter()
        with bind_request_id(request_id):
            try:
                return self.app(environ, start)
            finally:
                if self.access_lines:
                    status = int(seen[0].split(" ", 1)[0]) if seen else 500
                    ms = round((time.perf_counter() - started) * 1000, 1)
                    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
                    log.info("%s %s %d %.1f ms", environ.get("REQUEST_METHOD"), path, status, ms,
                             extra={"method": environ.get("REQUEST_METHOD"), "path": path,
                                    "status": status, "ms": ms})
