"""The Flask application factory: one app per runtime, every blueprint registered here, the
browser protections (:mod:`~gateway.web.security`) applied to all of them.

The app trusts ``X-Forwarded-For``/``-Proto`` only for ``TRUSTED_PROXIES`` hops (werkzeug's
ProxyFix; 0 ignores them) and refuses bodies over ``MAX_CONTENT_LENGTH`` with 413.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Settings, configure_logging, load_settings
from gateway.runtime import Runtime
from gateway.web.context import EXTENSION
from gateway.web.health import bp as health_bp
from gateway.web.security import protect
from gateway.web.simulator import bp as simulator_bp
from gateway.web.staff import register_dashboard
from gateway.web.webhooks import bp as webhooks_bp

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the web app. With no runtime given, one is built from ``settings`` and owned here."""
    if runtime is None:
        settings = settings or load_settings()
        runtime = Runtime.from_settings(settings)
    settings = runtime.settings
    configure_logging(settings.LOG_LEVEL, settings.LOG_JSON)
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(SECRET_KEY=settings.SECRET_KEY or None, THUSONG_SETTINGS=settings,
                      MAX_CONTENT_LENGTH=settings.MAX_CONTENT_LENGTH)
    if settings.TRUSTED_PROXIES:
        # Each proxy appends the address it saw: believe only the last N entries, so a client's
        # own X-Forwarded-For (which nginx keeps in front of them) changes nothing.
        hops = settings.TRUSTED_PROXIES
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.extensions[EXTENSION] = runtime
    app.session_interface = CookieOnlyWhenUsed()
    csrf = protect(app, settings)
    for blueprint in (health_bp, webhooks_bp, simulator_bp):
        app.register_blueprint(blueprint)
    # Machines post here, not browsers: AT (its shared token instead) and the simulator's JSON.
    csrf.exempt(webhooks_bp)
    csrf.exempt(simulator_bp)
    register_dashboard(app, runtime)
    return app


class CookieOnlyWhenUsed(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without building a signer for requests that bring no
    cookie: AT's webhooks never have one, and the signer cost a USSD hop ~0.05 ms."""

    def open_session(self, app: Flask, request):
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()  # saving it (if a view writes to it) signs as usual
        return super().open_session(app, request)
