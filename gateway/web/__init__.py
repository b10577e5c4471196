"""Flask application factory. Flask lives only under ``gateway.web``."""

from __future__ import annotations

import logging

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from config import Settings, configure_logging, load_settings
from gateway.runtime import Runtime

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the web app. With no runtime given, one is built from ``settings`` and owned here."""
    if runtime is None:
        settings = settings or load_settings()
        runtime = Runtime.from_settings(settings)
    settings = runtime.settings
    configure_logging(settings.LOG_LEVEL, settings.LOG_JSON)
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(SECRET_KEY=settings.SECRET_KEY or None, THUSONG_SETTINGS=settings)
    app.extensions["thusong_runtime"] = runtime
    app.session_interface = CookieOnlyWhenUsed()

    from gateway.web import health, simulator, webhooks

    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(simulator.bp)
    return app


class CookieOnlyWhenUsed(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without building a signer for requests that bring no
    cookie: AT's webhooks never have one, and the signer cost a USSD hop ~0.05 ms."""

    def open_session(self, app: Flask, request):
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()  # saving it (if a view writes to it) signs as usual
        return super().open_session(app, request)


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["thusong_runtime"]
