"""WSGI entry point: granian's workers import it (``thusong web``), as would ``gunicorn
gateway.web.wsgi:app``; settings from the environment."""

from gateway.web.app import create_app

app = create_app()
