"""The web layer: Flask lives only here (and in ``gateway.cli``, which starts it).

Owns the app factory (:mod:`~gateway.web.app`), the request's runtime (:mod:`~gateway.web.context`)
and one blueprint per audience: AT's callbacks (:mod:`~gateway.web.webhooks`), the phone
simulator (:mod:`~gateway.web.simulator`), health and metrics (:mod:`~gateway.web.health`),
the staff dashboard (:mod:`gateway.web.staff`). :mod:`~gateway.web.security` adds the security
headers to all of them, and the cookie flags and CSRF to the browser-facing ones (AT's callbacks
are served by an app of their own, without them: see :mod:`~gateway.web.app`).
Blueprints parse and answer; the work is done by the capability packages below (``ussd``,
``sms``, ``directory``, ``staff``), which never import Flask.
"""

from gateway.web.app import create_app
from gateway.web.context import runtime_of

__all__ = ["create_app", "runtime_of"]
