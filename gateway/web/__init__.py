"""Flask application factory. Flask lives only under ``gateway.web``.

The app trusts ``X-Forwarded-For``/``-Proto`` only for ``TRUSTED_PROXIES`` hops (werkzeug's
ProxyFix; 0 ignores them), refuses bodies over ``MAX_CONTENT_LENGTH`` with 413, and
:func:`token_matches` is the one constant-time check of a presented secret against its list.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

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
    app.config.update(SECRET_KEY=settings.SECRET_KEY or None, THUSONG_SETTINGS=settings,
                      MAX_CONTENT_LENGTH=settings.MAX_CONTENT_LENGTH)
    if settings.TRUSTED_PROXIES:
        # Each proxy appends the address it saw: believe only the last N entries, so a client's
        # own X-Forwarded-For (which nginx keeps in front of them) changes nothing.
        hops = settings.TRUSTED_PROXIES
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
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


def token_matches(given: str, accepted: Iterable[str]) -> bool:
    """True if ``given`` equals one of ``accepted`` (several during a rotation). Every entry is
    compared in constant time, and all of them, so timing tells nothing of which or how close."""
    given_bytes = given.encode()
    found = False
    for token in accepted:
        found |= hmac.compare_digest(given_bytes, token.encode())
    return bool(given) and found
