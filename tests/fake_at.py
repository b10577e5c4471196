"""A local Africa's Talking-compatible messaging server for tests: the only fake in the suite.

Speaks what the official SDK sends (``POST /version1/messaging``, form-encoded ``username``,
``to`` comma-separated, ``message``, optional ``from``/``enqueue``, header ``apiKey``) and
answers as AT does (JSON with ``SMSMessageData.Recipients[]``, Content-Type exactly
``application/json``). It can be told to fail (HTTP 500, 429, a response that never comes,
a connection dropped after the request was read, per-number statusCodes) and it posts
delivery reports back to a URL, as AT does for every message it accepted.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import queue
import random
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    form: dict
    headers: dict
    at: float
    outcome: str  # ok | 500 | 429 | timeout | drop
    accepted: list[str] = field(default_factory=list)
    peer: int = 0  # the client's port: requests on one kept-alive connection share it


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a sixth concurrent connect waits out a SYN
    # retransmission (1 s), a stall AT's real endpoint never shows. Senders do connect in
    # parallel (a worker sends a batch's different texts at once).
    request_queue_size = 128


class FakeAT:
    """``with FakeAT() as fake: fake.base_url`` → ``http://127.0.0.1:PORT/version1``."""

    def __init__(self, dlr_url: str | None = None, dlr_delay: float = 0.05, dlr_senders: int = 4):
        self.requests: list[Recorded] = []
        self.dlr_url = dlr_url
        self.dlr_delay = dlr_delay
        # Delivery reports leave in the order AT accepted their messages, from a few senders
        # holding their connections open: a report waits behind those accepted before it, never
        # behind every later one (a thread a request let them all contend at once, so under a
        # 10,000-message broadcast one could come tens of seconds after its message).
        self._reports: queue.Queue = queue.Queue()
        self._dlr_senders = [threading.Thread(target=self._send_reports, daemon=True)
                             for _ in range(dlr_senders if dlr_url else 0)]
        self._closing = threading.Event()
        self.status_for: dict[str, int] = {}  # number → statusCode to answer with
        self.status_for_all: int | None = None  # when set, every recipient gets this statusCode
        self._fail: list[str] = []
        self._answers: list[tuple[int, str, bytes]] = []
        self._policy = None
        self._lock = threading.Lock()
        self.sleep_for_timeout = 3.0
        # Seconds an accepted request waits for its answer: AT took the messages at once (their
        # delivery reports leave as usual) but the answer is slow to come back.
        self.answer_delay = 0.0
        self.balance = "ZAR 120.0000"  # what GET /version1/user answers
        self.api_keys: set[str] | None = None  # keys GET /version1/user accepts; None: any
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- control ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/version1"

    def fail_next(self, kind: str, n: int = 1) -> None:
        """The next ``n`` requests fail with ``kind``: '500', '429', 'timeout' or 'drop'."""
        with self._lock:
            self._fail.extend([kind] * n)

    def answer_next(self, body: str | bytes, content_type: str = "application/json", status: int = 200) -> None:
        """The next request is accepted as usual but answered with exactly ``body`` (any shape
        AT might one day send: not JSON, JSON of another shape, odd statusCodes)."""
        raw = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._answers.append((status, content_type, raw))

    def answer_everyone(self, code: int | None) -> None:
        """From now on every recipient of every request gets statusCode ``code`` (405: the
        account is out of credit); None goes back to ``status_for`` (default 101)."""
        self.status_for_all = code

    def _code(self, number: str) -> int:
        return self.status_for_all if self.status_for_all is not None else self.status_for.get(number, 101)

    def set_policy(self, fn) -> None:
        """``fn(request_number) -> 'ok' | '500' | '429' | 'timeout' | 'drop'`` for every request."""
        self._policy = fn

    def random_failures(self, rate: float, seed: int = 1, kinds=("500", "429", "timeout", "drop")) -> None:
        rng = random.Random(seed)
        self.set_policy(lambda _n: rng.choice(kinds) if rng.random() < rate else "ok")

    def sent_to(self, number: str) -> int:
        """How many times the fake accepted a message for ``number``."""
        return self.accepted_counts()[number]

    def accepted_counts(self) -> Counter:
        with self._lock:
            return Counter(n for r in self.requests for n in r.accepted)

    def accepted_messages(self) -> list[tuple[str, str, str | None]]:
        """(number, message, from) for every accepted recipient, in order."""
        with self._lock:
            return [(n, r.form.get("message", ""), r.form.get("from")) for r in self.requests for n in r.accepted]

    # --- server ------------------------------------------------------------------------------

    def __enter__(self) -> FakeAT:
        self._thread.start()
        for sender in self._dlr_senders:
            sender.start()
        return self

    def __exit__(self, *exc) -> None:
        self._closing.set()
        for _ in self._dlr_senders:
            self._reports.put(None)
        self._server.shutdown()
        self._server.server_close()

    def _decide(self) -> str:
        with self._lock:
            if self._fail:
                return self._fail.pop(0)
            n = len(self.requests)
        return self._policy(n) if self._policy else "ok"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                # The SDK's Application data fetch: AT's cheapest authenticated call.
                if not self.path.split("?")[0].endswith("/user"):
                    return self._text(404, "Not found")
                if fake.api_keys is not None and self.headers.get("apiKey") not in fake.api_keys:
                    return self._text(401, "The supplied authentication is invalid")
                self._json(200, {"UserData": {"balance": fake.balance}})

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
                outcome = fake._decide() if self.path.endswith("/messaging") else "404"
                record = Recorded(form, dict(self.headers), time.time(), outcome, peer=self.client_address[1])
                if outcome in ("ok", "timeout", "drop"):
                    # AT processed it; for timeout/drop the answer is lost on the way back.
                    record.accepted = fake._accept(form)
                with fake._lock:
                    fake.requests.append(record)
                if outcome == "ok":
                    if fake.answer_delay:
                        time.sleep(fake.answer_delay)
                    with fake._lock:
                        canned = fake._answers.pop(0) if fake._answers else None
                    if canned:
                        return self._raw(*canned)
                    return self._json(200, fake._response(form, record.accepted))
                if outcome == "timeout":
                    time.sleep(fake.sleep_for_timeout)
                    self.close_connection = True
                    return
                if outcome == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if outcome == "404":
                    return self._text(404, "Not found")
                self._text(int(outcome), "Internal Server Error" if outcome == "500" else "Too Many Requests")

            def _json(self, code: int, data) -> None:
                raw = json.dumps(data).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _raw(self, code: int, content_type: str, raw: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _text(self, code: int, text: str) -> None:
                raw = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler

    def _accept(self, form: dict) -> list[str]:
        numbers = [n for n in (form.get("to") or "").split(",") if n]
        self._ids = getattr(self, "_ids", {})
        self._codes = getattr(self, "_codes", {})  # one look per request: the answer matches what was counted
        for n in numbers:
            self._ids[(n, id(form))] = f"ATXid_{uuid.uuid4().hex[:20]}"
            self._codes[(n, id(form))] = self._code(n)
        accepted = [n for n in numbers if self._codes[(n, id(form))] in (100, 101, 102)]
        if self.dlr_url:
            accepted_at = time.monotonic()
            for n in accepted:
                self._reports.put((accepted_at, self._ids[(n, id(form))], n))
        return accepted

    def _response(self, form: dict, accepted: list[str]) -> dict:
        names = {101: "Success", 406: "UserInBlacklist", 403: "InvalidPhoneNumber", 405: "InsufficientBalance",
                 500: "InternalServerError", 502: "RejectedByGateway"}
        recipients = []
        for n in [n for n in (form.get("to") or "").split(",") if n]:
            code = self._codes[(n, id(form))]
            recipients.append({"statusCode": code, "number": n, "status": names.get(code, "Success"),
                               "cost": "ZAR 0.3500" if code == 101 else "0",
                               "messageId": self._ids[(n, id(form))] if code == 101 else "None"})
        return {"SMSMessageData": {"Message": f"Sent to {len(accepted)}/{len(recipients)} Total Cost: ZAR 0.35",
                                   "Recipients": recipients}}

    def _send_reports(self) -> None:
        """One delivery-report sender: the oldest waiting report first, ``dlr_delay`` after its
        message was accepted, each POST a request of its own on a kept-alive connection, tried
        again until it is answered (a report silently lost to a timeout on a loaded machine
        left its unknown row waiting out the whole reconcile window)."""
        url = urllib.parse.urlsplit(self.dlr_url)
        path = f"{url.path}?{url.query}" if url.query else url.path
        conn = None
        while True:
            item = self._reports.get()
            if item is None or self._closing.is_set():
                break
            accepted_at, message_id, number = item
            wait = accepted_at + self.dlr_delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            body = urllib.parse.urlencode({"id": message_id, "status": "Success", "phoneNumber": number,
                                           "networkCode": "65501", "retryCount": "0"})
            while not self._closing.is_set():  # AT retries a report it could not deliver
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
                    conn.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
                    conn.getresponse().read()
                    break
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None  # a fresh connection: the kept one may have been closed
                    time.sleep(0.05)
        if conn is not None:
            conn.close()


def at_runtime(rt, fake: FakeAT, **settings):
    """The test runtime (same Redis and database) sending through the real SDK to ``fake``."""
    changed = rt.settings.with_(**{"AT_USERNAME": "sandbox", "AT_API_KEY": "test-key", "AT_SENDER_ID": "THUSONG",
                                   "AT_API_URL": fake.base_url, "SMS_RATE_PER_SECOND": 5000,
                                   "AT_TIMEOUT_SECONDS": 1, **settings})
    return dataclasses.replace(rt, settings=changed)
