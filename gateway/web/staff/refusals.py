"""What the dashboard refuses without acting, and how it says so: every ``/staff`` page at
once, so a page added later is covered without doing anything.

- **A stale form** (its CSRF token expired, missing, or from a session that has since ended):
  the same page is shown again with what the person typed, a fresh token and a line asking them
  to check it and submit again. It is shown by running the page's view once more, in which no
  form validates (Flask-WTF checks the stale token again and refuses it), so nothing is acted
  on; a button form's view redirects back as after any refused click. With no login left, the
  login page opens instead.
- **Text no database can store** (a NUL byte: PostgreSQL refuses it in text): the submission is
  refused the same way, the NUL removed from what is shown back, with a line saying why.
- **An id no row can have** (over PostgreSQL's ``integer``, 2³¹−1) in a staff URL, or a NUL in
  its query: 404, before any query. (In a form, :func:`~gateway.web.staff.forms.record_id`
  makes such an id the field's error.)
- **Redis or the database unreachable** (a login, any page): a 503 page, logged, never a 500.
"""

from __future__ import annotations

import logging

import redis
from flask import abort, current_app, flash, g, render_template, request, session
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException

from gateway.web.staff.auth import bp
from gateway.web.staff.forms import MAX_ID

log = logging.getLogger(__name__)

STALE = "This page had expired, so nothing was done. Check what you typed and submit it again."
NUL_REFUSED = ("A field held a character that cannot be stored (a NUL byte), so nothing was done. "
               "It has been removed: check what you typed and submit it again.")
ENDED = "Your session had ended, so nothing was done. Log in, then submit it again."
UNAVAILABLE = ("The dashboard cannot reach its database or its Redis just now. "
               "Try again in a minute; if it persists, tell the operator on call.")


@bp.url_value_preprocessor
def _ids_in_range(_endpoint: str | None, values: dict | None) -> None:
    if any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in (values or {}).values()):
        abort(404)


@bp.before_request
def _refuse_nul():
    if any("\x00" in v for k, v in request.args.items(multi=True) if k != "next"):  # next: see the login
        abort(404)  # no page is at such an address (and PostgreSQL could not look it up)
    if request.method != "POST" or not any("\x00" in v for v in request.form.values()):
        return None
    # Shown back without the NUL and without the token, so that no form validates.
    request.form = ImmutableMultiDict([(k, v.replace("\x00", "")) for k, v in request.form.items(multi=True)
                                       if k != "csrf_token"])
    return _shown_again(NUL_REFUSED)


@bp.errorhandler(CSRFError)
def _stale_form(_error):
    return _shown_again(STALE)


def _shown_again(message: str):
    """The page the person posted, shown again by its own view with ``message`` and nothing
    acted on: no form validates while ``g.csrf_valid`` is false and the token is not valid."""
    g.csrf_valid = False
    if request.endpoint != "staff.login" and not current_user.is_authenticated:
        _say(ENDED)
        return current_app.login_manager.unauthorized()
    _say(message)
    try:
        return current_app.view_functions[request.endpoint](**(request.view_args or {}))
    except HTTPException as exc:  # the view's own 403/404/429, as if it had been reached
        return current_app.handle_user_exception(exc)


def _say(message: str) -> None:
    """Flash ``message`` once: a page fragment (the compose preview) leaves it for the next
    page, which a second stale post must not show twice."""
    if ("error", message) not in session.get("_flashes", []):
        flash(message, "error")


@bp.errorhandler(OperationalError)
@bp.errorhandler(redis.ConnectionError)
@bp.errorhandler(redis.TimeoutError)
def _unavailable(error):
    log.error("staff %s %s: %s unreachable (%s)", request.method, request.path,
              "Redis" if isinstance(error, redis.RedisError) else "the database", type(error).__name__,
              exc_info=error)
    # The page must not load the account again (from the database that just failed).
    g._login_user = current_app.login_manager.anonymous_user()
    page = render_template("staff/error.html", code=503, title="Temporarily unavailable", message=UNAVAILABLE)
    return page, 503, {"Retry-After": "60"}
