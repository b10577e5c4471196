"""The Flask application factory: one app per runtime, every blueprint registered here.

Two audiences, two Flask apps behind one WSGI callable (werkzeug's ``DispatcherMiddleware``):
- **pages** (the returned app): the staff dashboard, the simulator, health and metrics, with
  the browser protections of :mod:`~gateway.web.security` (CSRF, cookie flags, sessions,
  Flask-Login, the login throttle);
- **machines**, mounted at :data:`WEBHOOKS`: Africa's Talking's callbacks. Machines bring no
  cookie and post no browser form, so none of that runs on their hot path (it cost every
  USSD hop and inbound SMS about 50 µs of CPU); they keep the security headers.

Both share the runtime, trust ``X-Forwarded-For``/``-Proto`` only for ``TRUSTED_PROXIES``
hops (werkzeug's ProxyFix, outermost; 0 ignores them) and refuse bodies over
``MAX_CONTENT_LENGTH`` with 413.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Settings, configure_logging, load_settings
from gateway.runtime import Runtime
from gateway.web.access import RequestLog
from gateway.web.context import EXTENSION
from gateway.web.fast_callbacks import FastCallbacks
from gateway.web.health import bp as health_bp
from gateway.web.security import add_headers, headers_for, protect
from gateway.web.simulator import bp as simulator_bp
from gateway.web.staff import register_dashboard
from gateway.web.webhooks import bp as webhooks_bp

log = logging.getLogger(__name__)
WEBHOOKS = "/webhooks/at"  # where AT's callbacks are mounted (the machines app)
# The web processes' PostgreSQL limits. AT gives up on a USSD hop after about 10 s, so a request
# still waiting then has failed anyway: a lock held over 3 s (a migration's ALTER TABLE, a
# transaction left open) or a statement over 3 s ends it with the server's error — the hop with
# its apology, still inside AT's 10 s; an inbound SMS with a 500, which AT retries — instead of
# holding a server worker until the lock goes (granian has no watchdog to kill a stuck worker).
# A database that says nothing at all (a stalled network path, a frozen primary) is the client's
# to end: 3 s for a connect, 3.5 s for any other answer (just past the server's own limits, so
# those answer first), after which the process fails database calls at once for a moment
# (gateway.store.deadline) rather than making every request wait out the same silence.
# RQ workers and commands keep long limits: fan-out, roll-ups and migrations run long.
WEB_DB_TIMEOUTS = {"lock_timeout_ms": 3_000, "statement_timeout_ms": 3_000, "connect_timeout_s": 3,
                   "deadline_s": 3.5}


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the web app. With no runtime given, one is built from ``settings`` and owned here,
    its database connections limited by :data:`WEB_DB_TIMEOUTS`."""
    if runtime is None:
        settings = settings or load_settings()
        runtime = Runtime.from_settings(settings, **WEB_DB_TIMEOUTS)
    settings = runtime.settings
    configure_logging(settings.LOG_LEVEL, settings.LOG_JSON)
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(SECRET_KEY=settings.SECRET_KEY or None, THUSONG_SETTINGS=settings,
                      MAX_CONTENT_LENGTH=settings.MAX_CONTENT_LENGTH)
    app.extensions[EXTENSION] = runtime
    app.session_interface = CookieOnlyWhenUsed()
    csrf = protect(app, settings)
    for blueprint in (health_bp, simulator_bp):
        app.register_blueprint(blueprint)
    csrf.exempt(simulator_bp)  # the simulator's JSON calls, made by our own page's script
    register_dashboard(app, runtime)
    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, {WEBHOOKS: _machines_app(runtime).wsgi_app})
    app.wsgi_app = RequestLog(app.wsgi_app, access_lines=settings.LOG_JSON)  # type: ignore[method-assign]
    if settings.TRUSTED_PROXIES:
        # Each proxy appends the address it saw: believe only the last N entries, so a client's
        # own X-Forwarded-For (which nginx keeps in front of them) changes nothing.
        hops = settings.TRUSTED_PROXIES
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app


def _machines_app(runtime: Runtime) -> Flask:
    """AT's callbacks (:mod:`~gateway.web.webhooks`; they carry the shared token instead of a
    session), answered by a Flask app with nothing browser-facing in it."""
    settings = runtime.settings
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(THUSONG_SETTINGS=settings, MAX_CONTENT_LENGTH=settings.MAX_CONTENT_LENGTH)
    app.extensions[EXTENSION] = runtime
    add_headers(app, settings)
    app.register_blueprint(webhooks_bp)  # at WEBHOOKS: the dispatcher strips the prefix
    app.wsgi_app = FastCallbacks(app.wsgi_app, runtime, headers_for(settings))  # type: ignore[method-assign]
    return app


class CookieOnlyWhenUsed(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without building a signer for requests that bring no
    cookie: AT's webhooks never have one, and the signer cost a USSD hop ~0.05 ms."""

    def open_session(self, app: Flask, request):
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()  # saving it (if a view writes to it) signs as usual
        return super().open_session(app, request)
