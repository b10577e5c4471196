"""Logging staff in and out, and who may see what.

- The ``staff`` blueprint (``/staff/…``) lets no request through without a login except the
  login page itself: a page added to it later is protected without doing anything.
- Sessions are Flask-Login's; the session carries the account id and its stamp
  (:class:`~gateway.staff.accounts.Member`), which changes when the password is reset, the
  person logs out, or the account is disabled or re-enabled: every session opened before then
  ends, including a copy of its cookie. Every staff response says ``Cache-Control: no-store``.
- Failed logins are throttled with Flask-Limiter on the runtime's Redis (OWASP's advice: a
  wrong guesser must not lock the owner out): :data:`LOGIN_LIMIT` per account *and* address,
  :data:`ADDRESS_LIMIT` per address (one address trying many accounts), and the slower
  :data:`ACCOUNT_LIMIT` per account from anywhere (guessing spread over many addresses). Over
  any, the login answers 429 with a page saying when to try again. Only failures count; the
  account is the one the body names, as the form reads it (a form post or JSON).
- :func:`role_required` guards a view by role (admins pass every guard); a ``reviewer``
  opens only :data:`REVIEWER_PAGES` (the translations), whatever a page's own guard says;
  :func:`current_member` is the logged-in account.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import Limiter
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.datastructures import MultiDict

from gateway.runtime import Runtime
from gateway.staff import audit
from gateway.staff.accounts import (
    REVIEWER,
    Member,
    check_password,
    end_sessions,
    find_member,
    get_member,
)
from gateway.web.context import runtime_of
from gateway.web.staff.forms import ActionForm, LoginForm

log = logging.getLogger(__name__)

bp = Blueprint("staff", __name__, url_prefix="/staff")
PUBLIC = frozenset({"staff.login", "staff.invitation_page"})  # the invitation: its token is the key
# The only pages a reviewer (a native speaker checking translations) may open.
REVIEWER_PAGES = frozenset({"staff.login", "staff.logout", "staff.invitation_page", "staff.home", "staff.translations_page",
                            "staff.translation_review", "staff.translation_correct", "staff.translation_suggest"})
LOGIN_LIMIT = "10 per 15 minutes"  # one account from one address
ADDRESS_LIMIT = "30 per 15 minutes"  # one address, whatever accounts it names
ACCOUNT_LIMIT = "100 per day"  # one account, from every address together
LIMITER = "thusong_login_limiter"


class StaffUser(UserMixin):
    """Flask-Login's view of a :class:`Member`; the id carries the password stamp."""

    def __init__(self, member: Member) -> None:
        self.member = member

    def get_id(self) -> str:
        return f"{self.member.id}.{self.member.stamp}"

    @property
    def is_active(self) -> bool:
        return self.member.active


def current_member() -> Member:
    """The logged-in account (the blueprint guarantees one on every page but the login)."""
    return current_user.member


def client_address() -> str:
    """The client's address: ``remote_addr``, which the trusted-proxy fix sets from
    ``X-Forwarded-For`` when the app runs behind one."""
    return request.remote_addr or "unknown"


def role_required(*roles: str) -> Callable:
    """Let the view run only for a logged-in account whose role is one of ``roles`` (or
    admin); anyone else gets 403, and no login at all goes to the login page."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not (current_member().is_admin or current_member().role in roles):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


@bp.before_request
def _login_first():
    if request.endpoint not in PUBLIC and not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if current_user.is_authenticated and current_member().role == REVIEWER and request.endpoint not in REVIEWER_PAGES:
        abort(403)  # a reviewer sees the translations and nothing of citizens or broadcasts
    return None


def _load_user(user_id: str) -> StaffUser | None:
    staff_id, _, stamp = user_id.partition(".")
    member = get_member(runtime_of().sessions, int(staff_id)) if staff_id.isdigit() else None
    if member is None or not member.active or member.stamp != stamp:
        session.clear()  # so re-enabling the account later does not revive this session
        return None
    return StaffUser(member)


def _next_page() -> str:
    """Where to go after logging in: the ``next`` page if it is one of ours, else home. A
    control character (CR/LF would split the Location header) is never one of ours."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if (target.startswith("/staff/") and not parts.scheme and not parts.netloc and "\\" not in target
            and target.isprintable()):
        return target
    return url_for("staff.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm(formdata=login_body() if request.method == "POST" else None)
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    if form.validate_on_submit():
        rt = runtime_of()
        member = check_password(rt.sessions, form.email.data, form.password.data)
        if member is not None:
            session.clear()
            login_user(StaffUser(member))
            session.permanent = True
            audit.record(rt, member, "login.ok", address=client_address())
            return redirect(_next_page())
        g.login_failed = True
        email = submitted_email()
        audit.record(rt, find_member(rt.sessions, email) or email, "login.failed", target=email,
                     address=client_address())
        flash("Wrong email or password, or the account is disabled.", "error")
    return render_template("staff/login.html", form=form)


@bp.post("/logout")
def logout():
    if ActionForm().validate_on_submit():
        rt = runtime_of()
        audit.record(rt, current_member(), "logout", address=client_address())
        end_sessions(rt.sessions, current_member().id)  # a copy of the cookie ends too
        logout_user()
        session.clear()
        flash("You are logged out.", "info")
    return redirect(url_for("staff.login"))


ERRORS = {403: ("Not for your role", "Your account's role does not open this page."),
          404: ("Not found", "There is no such page or record.")}


@bp.errorhandler(403)
@bp.errorhandler(404)
def _error(error):
    title, message = ERRORS[error.code]
    return render_template("staff/error.html", code=error.code, title=title, message=message), error.code


@bp.errorhandler(429)
def _throttled(error):
    limit = current_app.extensions[LIMITER].current_limit
    # The limits library rounds reset_at up to a whole second: never promise more than the window.
    seconds = min(max(0, limit.reset_at - time.time()), limit.limit.get_expiry()) if limit else 15 * 60
    log.warning("staff login throttled from %s", client_address())
    page = render_template("staff/throttled.html", minutes=max(1, math.ceil(seconds / 60)))
    return page, 429, {"Retry-After": str(math.ceil(seconds))}


def _login_failed(_response) -> bool:
    return bool(g.get("login_failed"))


def login_body() -> MultiDict:
    """The login POST's fields, from a form or (as Flask-WTF would take it) a JSON object; text
    values only, so an odd JSON body is a failed login rather than an error. The form and the
    throttle both read this, so a JSON login counts against the account it names."""
    if request.form or not request.is_json:
        return request.form
    body = request.get_json(silent=True)
    items = body.items() if isinstance(body, dict) else ()
    return MultiDict([(k, v) for k, values in items for v in (values if isinstance(values, list) else [values])
                      if isinstance(v, str)])


def submitted_email() -> str:
    """The email a login POST names, normalised as accounts are."""
    return (login_body().get("email") or "").strip().lower()


def _account_key() -> str:
    return "account:" + submitted_email()


def _account_address_key() -> str:
    return f"account:{submitted_email()} address:{client_address()}"


@bp.after_request
def _no_store(response):
    """Staff pages show personal data and carry CSRF tokens: no browser or proxy keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def limiter_storage(redis_url: str) -> str:
    """The runtime's Redis URL in the form ``limits`` wants (``redis+unix://`` for a socket)."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def init_auth(app: Flask, runtime: Runtime) -> None:
    """Flask-Login and the login throttle for ``app`` (the blueprint must be registered)."""
    manager = LoginManager(app)
    manager.login_view = "staff.login"
    manager.login_message = "Please log in to see that page."
    manager.login_message_category = "info"
    manager.user_loader(_load_user)
    limiter = Limiter(client_address, app=app, storage_uri=limiter_storage(runtime.redis_url),
                      key_prefix="thusong-login", strategy="moving-window")
    # Three limits on the login view, counted only when it fails.
    view = app.view_functions["staff.login"]
    for limit, key in ((LOGIN_LIMIT, _account_address_key), (ADDRESS_LIMIT, client_address),
                       (ACCOUNT_LIMIT, _account_key)):
        view = limiter.limit(limit, key_func=key, methods=["POST"], deduct_when=_login_failed)(view)
    app.view_functions["staff.login"] = view
    _confine_to_blueprint(app, limiter, bp.name)
    app.extensions[LIMITER] = limiter


def _confine_to_blueprint(app: Flask, limiter: Limiter, blueprint: str) -> None:
    """Run the limiter's request hooks for ``blueprint`` only. Flask-Limiter hooks every
    request, and that cost a USSD hop ~35 µs for limits that only the login has. Its hooks
    are found by what they are bound to; if a Flask-Limiter release registers them another
    way, the app refuses to start rather than throttle nothing."""
    for hooks in (app.before_request_funcs, app.after_request_funcs):
        ours = [f for f in hooks[None] if limiter in (getattr(f, "__self__", None), *getattr(f, "args", ()))]
        if len(ours) != 1:
            raise RuntimeError(f"expected one Flask-Limiter hook in {sorted(hooks)}, found {len(ours)}")
        hooks[None].remove(ours[0])
        hooks.setdefault(blueprint, []).append(ours[0])
