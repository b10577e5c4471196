"""Browser-facing protections applied to every response and every form, app-wide.

- Security headers on every response (pages, JSON, AT's webhooks alike): a Content Security
  Policy that allows only our own scripts, styles and images (no inline script or style, no
  third-party origin), no framing, no MIME sniffing, no referrer to other sites; HSTS in
  production, where TLS is terminated in front of us.
- Session cookie: ``HttpOnly``, ``SameSite=Lax``, ``Secure`` in production; staff sessions
  last at most :data:`SESSION_HOURS`.
- CSRF (Flask-WTF) on every POST: a missing or wrong token is 400. The simulator's JSON calls
  are exempted by ``create_app``; AT's webhooks are served by an app of their own without it.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response
from flask_wtf.csrf import CSRFProtect

from config import Settings

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
SESSION_HOURS = 12


def headers_for(settings: Settings) -> dict[str, str]:
    """The security headers every response carries under ``settings``."""
    return dict(HEADERS, **({"Strict-Transport-Security": HSTS} if settings.is_production else {}))


def add_headers(app: Flask, settings: Settings) -> None:
    """Add the security headers to every response of ``app`` (a view's own value wins)."""
    headers = headers_for(settings)

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response


def protect(app: Flask, settings: Settings) -> CSRFProtect:
    """Set the cookie flags, add the headers to every response, switch CSRF on; the
    ``CSRFProtect`` is returned so the caller can exempt blueprints that browsers do not post to."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.is_production,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )
    add_headers(app, settings)
    return CSRFProtect(app)
