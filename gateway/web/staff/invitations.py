"""Invitations on the dashboard (the rules are :mod:`gateway.staff.invitations`'):

- after an admin adds an account, or asks again on ``/staff/accounts/<id>/invite``, the answer
  to that form shows the set-password link, once: it is in no later page, no redirect and no
  cookie, and the database keeps only its hash. Texting it to the account's own phone is a
  checkbox on the same form;
- ``/staff/invitation?token=…`` (no login; reviewers may open it too) is where the person
  sets a password with the ordinary rules. A link that does not work gets one answer, 404,
  whether it never existed, was used, replaced, or expired. Setting the password logs out
  whoever was logged in in that browser, and leads to the login page.
"""

from __future__ import annotations

from contextlib import suppress
from urllib.parse import urlencode

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from gateway.staff import invitations
from gateway.staff.accounts import ADMIN, MIN_PASSWORD, Member, StaffError, get_member
from gateway.staff.invitations import InvitationError
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member, role_required
from gateway.web.staff.forms import InviteForm, ResetPasswordForm

MAX_TOKEN = 100  # a token is 43 characters; anything longer is no token of ours
# The set-password page; the token goes in the query, which nginx's access log leaves out
# (deploy/nginx: the path only) and the log filter masks (``token=``), never in the path.
PATH = "/staff/invitation"


def invitation_link(dashboard_url: str, token: str) -> str:
    """The set-password link of ``token`` on the dashboard at ``dashboard_url`` (for the
    command line, which has no request to build it from)."""
    return f"{dashboard_url.rstrip('/')}{PATH}?{urlencode({'token': token})}"


def send_invitation(member: Member, text_it: bool, new: bool = False):
    """Invite ``member`` (earlier links void), text the link if asked, and show it once."""
    rt, admin, address = runtime_of(), current_member(), client_address()
    invitation = invitations.invite(rt, member, admin, address)
    link = url_for("staff.invitation_page", token=invitation.token, _external=True)
    texted = problem = None
    if text_it:
        try:
            texted = invitations.text_link(rt, invitation, link, admin, address)
        except StaffError as exc:
            problem = str(exc)
    return render_template("staff/account_invited.html", member=member, link=link, new=new, texted=texted,
                           problem=problem, expires=invitation.expires_at)


@bp.route("/accounts/<int:staff_id>/invite", methods=["GET", "POST"])
@role_required(ADMIN)
def staff_invite(staff_id: int):
    member = get_member(runtime_of().sessions, staff_id)
    if member is None:
        abort(404)
    form = InviteForm()
    if form.validate_on_submit():
        return send_invitation(member, bool(form.text_link.data))
    return render_template("staff/account_invite.html", form=form, member=member)


def _refused():
    return render_template("staff/error.html", code=404, title="This link does not work",
                           message=invitations.REFUSED), 404


@bp.route(PATH.removeprefix(bp.url_prefix), methods=["GET", "POST"])
def invitation_page():
    rt, token = runtime_of(), request.args.get("token", "")
    member = invitations.pending(rt, token) if len(token) <= MAX_TOKEN else None
    form = ResetPasswordForm()
    if member is None:
        if form.validate_on_submit() and len(token) <= MAX_TOKEN:  # someone typed a password in vain: audited
            with suppress(InvitationError):
                invitations.refuse(rt, token, client_address())
        return _refused()
    if form.validate_on_submit():
        try:
            invitations.accept(rt, token, form.password.data, client_address())
        except InvitationError:
            return _refused()
        except StaffError as exc:
            form.password.errors.append(str(exc))
        else:
            if current_user.is_authenticated:
                logout_user()  # someone else's session in this browser: the new password is not theirs
            session.clear()
            flash(f"Your password is set. Log in as {member.email}.", "info")
            return redirect(url_for("staff.login"))
    return render_template("staff/invitation.html", form=form, member=member, min_password=MIN_PASSWORD)
