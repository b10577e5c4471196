"""WSGI entry point for gunicorn: ``gunicorn gateway.web.wsgi:app`` (settings from the env)."""

from gateway.web.app import create_app

app = create_app()
