"""Engine, sessions and migrations. Alembic owns the schema; ``upgrade`` is what ``run`` calls.

Every engine the product makes hides its bound parameters (``hide_parameters=True``): a failed
statement's error, and so its log line and traceback, shows the SQL but never the values
(password hashes, emails, citizens' numbers, message text). PostgreSQL's own ``DETAIL`` line,
which quotes them back (``Key (email)=(…) already exists``, ``Failing row contains (…)``), is
cut from the message too; it stays in the error's ``diag`` for code that needs it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from gateway.store.deadline import GuardedConnection, Stall

MIGRATIONS = Path(__file__).with_name("migrations")
# Client-side limits for PostgreSQL connections nobody chose tighter ones for (workers, commands):
# long enough for a fan-out, a roll-up or a migration's statement, never forever.
CONNECT_TIMEOUT_S, DEADLINE_S = 10, 600.0
# A connection whose network path died: data unacknowledged for 30 s ends it (tcp_user_timeout,
# ms), an idle one is probed after 30 s and dropped after 3 unanswered probes 10 s apart.
STALL = "thusong_stall"  # the connect argument carrying an engine's Stall
TCP_LIMITS = {"tcp_user_timeout": 30_000, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3}


def make_engine(url: str, *, statement_timeout_ms: int = 0, lock_timeout_ms: int = 0,
                connect_timeout_s: int = CONNECT_TIMEOUT_S, deadline_s: float = DEADLINE_S) -> Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout so web and worker can share it.

    PostgreSQL: a nonzero ``statement_timeout_ms``/``lock_timeout_ms`` is set on every connection
    (as ``-c`` options at connect, after any ``options`` the URL gives), so a statement running or
    waiting for a lock longer than that fails with ``OperationalError``; 0 is no limit, as
    PostgreSQL's default. Those are the server's; the client keeps its own, for a database that
    takes the connection and then says nothing: ``connect_timeout_s`` ends a connect (libpq's
    ``connect_timeout``; 0: none), ``deadline_s`` any other round trip
    (:mod:`gateway.store.deadline`, which also fails the engine's calls at once for a moment
    after one ran out; 0: none), and TCP keepalives and ``tcp_user_timeout`` drop a connection
    whose network path died. SQLite ignores them all."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    limits = [f"-c {name}={ms}" for name, ms in (("statement_timeout", statement_timeout_ms),
                                                  ("lock_timeout", lock_timeout_ms)) if ms]
    connect_args: dict = {"connect_timeout": connect_timeout_s} if connect_timeout_s else {}
    connect_args.update(TCP_LIMITS)
    if deadline_s:
        connect_args[STALL] = Stall(deadline_s)  # one per engine; _guarded_connect takes it out again
    if limits:
        # connect_args would replace the URL's own ``options``, not add to them: keep both.
        given = make_url(url).query.get("options", "")
        connect_args["options"] = " ".join([*([given] if isinstance(given, str) else given), *limits]).strip()
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, hide_parameters=True)
    event.listen(engine, "handle_error", _without_detail)
    return engine


def _without_detail(context) -> None:
    """Cut PostgreSQL's DETAIL (and what follows it) from the driver's message and from
    SQLAlchemy's, which quoted it already: the words the error is logged with. Only the
    messages change; the exceptions raised are the same."""
    for error in (context.original_exception, context.sqlalchemy_exception):
        if error is not None and error.args and isinstance(error.args[0], str) and "\nDETAIL:" in error.args[0]:
            error.args = (error.args[0].split("\nDETAIL:", 1)[0], *error.args[1:])


@event.listens_for(Engine, "do_connect")
def _guarded_connect(_dialect, _record, cargs, cparams):
    """An engine whose connect arguments carry a :class:`Stall` (``deadline_s``) makes every
    connection a :class:`GuardedConnection` sharing it; others connect as usual."""
    stall = cparams.get(STALL)
    if stall is None:
        return None
    return GuardedConnection.open(stall, *cargs, **{k: v for k, v in cparams.items() if k != STALL})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (default: every head) on the given engine."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def revisions(engine: Engine) -> tuple[set[str], set[str]]:
    """(the revisions the database is at, every head the migrations have). Equal sets: migrated
    to head. Compared as sets: until a merge revision lands the project has several heads."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
                .get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current, heads
