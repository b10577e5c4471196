"""The staff dashboard, ``/staff/…``: server-rendered pages that work without JavaScript.

:mod:`~gateway.web.staff.auth` owns the blueprint, the login (Flask-Login, throttled with
Flask-Limiter), :func:`role_required` and :func:`current_member`; one module per page family
adds its views to that blueprint: :mod:`~gateway.web.staff.home`,
:mod:`~gateway.web.staff.accounts` (admins), :mod:`~gateway.web.staff.invitations` (admins invite;
the set-password link needs no login), :mod:`~gateway.web.staff.audit` (admins),
:mod:`~gateway.web.staff.centres` (list and edit: clerks their centres; CSV: admins),
:mod:`~gateway.web.staff.centre_changes` (approvers: clerks' centre text waiting for approval).
:mod:`~gateway.web.staff.broadcasts` (every role: the list and each broadcast's page; worded by
:mod:`~gateway.web.staff.broadcast_text`), :mod:`~gateway.web.staff.broadcast_send` (compose,
check, then send; a test SMS to one's own phone), :mod:`~gateway.web.staff.visits` (service visits,
every role; the form's notice by :mod:`~gateway.web.staff.visit_notice`), :mod:`~gateway.web.staff.offices` (offices' state today: every role, its centres),
:mod:`~gateway.web.staff.inbox` (citizens' questions and complaints: every role, its centres),
:mod:`~gateway.web.staff.analytics` (every role: clerks see their centres'
figures; charts by the vendored Chart.js), :mod:`~gateway.web.staff.privacy` (admins: POPIA export and deletion of one number),
:mod:`~gateway.web.staff.approvals` (every role: what waits for a decision, and the home page's
block of it), :mod:`~gateway.web.staff.message_log` (every role: one number's messages, scoped and audited),
:mod:`~gateway.web.staff.translations` (reviewers and admins: review of the eleven languages in context),
:mod:`~gateway.web.staff.message_templates` (every role: wording kept to start a broadcast or a visit notice from).
:mod:`~gateway.web.staff.refusals` answers, for every page, a stale form (shown again with
what was typed), a NUL byte, an id no row can have, and Redis or the database being down (503).
Citizens' numbers appear on pages only through the ``masked`` filter: the same
:func:`config.mask_phone` the logs use, so staff see ``+2782****567`` wherever a log would.
The pages work without JavaScript;
``static/staff.js`` only adds the live preview and the polling of progress and of the list's figures.
What the pages do is done by :mod:`gateway.staff`; which centres a page may show is
:func:`gateway.staff.accounts.allowed_centre_ids`.
"""

from __future__ import annotations

from flask import Flask

from config import mask_phone
from gateway.runtime import Runtime
from gateway.web.staff import (
    accounts,
    analytics,
    approvals,
    audit,
    broadcast_send,
    broadcasts,
    centre_changes,
    centres,
    home,
    inbox,
    invitations,
    message_log,
    message_templates,
    offices,
    privacy,
    refusals,
    translations,
    visits,
)
from gateway.web.staff.auth import bp, current_member, init_auth, role_required
from gateway.web.staff.forms import field_words, with_error_attrs
from gateway.web.staff.sa_words import FILTERS as SA_WORDS

__all__ = ["bp", "current_member", "register_dashboard", "role_required"]
PAGES = (accounts, analytics, approvals, audit, broadcast_send, broadcasts, centre_changes, centres, home, inbox,
         invitations, message_log, message_templates, offices, privacy, translations, visits)  # imported for the routes they add to ``bp``
HANDLERS = (refusals,)  # imported for what it refuses on every page of ``bp`` (stale forms, NUL, 503)


def register_dashboard(app: Flask, runtime: Runtime) -> None:
    """Register the dashboard on ``app`` with its login and throttle."""
    app.register_blueprint(bp)
    app.add_template_filter(masked)
    app.add_template_filter(with_error_attrs)
    app.add_template_filter(field_words)
    for name, written in SA_WORDS.items():  # times in SAST, R1 234.50, 12 345: the same on every page
        app.add_template_filter(written, name)  # "hours_sat" → "Saturday hours" wherever a field is named
    init_auth(app, runtime)


def masked(value) -> str:
    """Jinja filter ``masked``: ``value`` as text with every phone number masked as the logs
    mask it (``+27821234567`` → ``+2782****567``); None is empty."""
    return "" if value is None else mask_phone(str(value))
