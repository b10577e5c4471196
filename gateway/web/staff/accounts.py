"""Staff accounts pages (admins): the list, adding an account, disabling or re-enabling one,
setting a new password, setting or clearing its mobile number; and "My account", where every
account sets or clears its own mobile number. Every change writes an audit row. Numbers are
shown masked and never put back in a form field (the page would then show it whole).

Adding an account asks for no password: the page that answers the form shows the new
account's invitation link, once (:mod:`~gateway.web.staff.invitations`); the centres are a
list of checkboxes grouped by province, which ``staff.js`` filters as the admin types."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from sqlalchemy import select

from config import mask_phone
from gateway.staff import accounts, audit, staff_notices
from gateway.staff.accounts import ADMIN, Member, StaffError
from gateway.store.models import Centre, Province
from gateway.web.context import runtime_of
from gateway.web.staff.auth import bp, client_address, current_member, role_required
from gateway.web.staff.forms import (
    ActionForm,
    AddStaffWithPhoneForm,
    ApprovalTextsForm,
    PhoneForm,
    ResetPasswordForm,
)
from gateway.web.staff.invitations import send_invitation


def _member_or_404(staff_id: int) -> Member:
    member = accounts.get_member(runtime_of().sessions, staff_id)
    if member is None:
        abort(404)
    return member


def _centre_groups(rt) -> list[tuple[str, list[tuple[int, str]]]]:
    """Every centre as (id, name), grouped by province (a clerk's centres are usually in one)."""
    with rt.sessions() as session:
        rows = session.execute(select(Centre.id, Centre.name, Province.name).outerjoin(Centre.province)
                               .order_by(Province.name, Centre.name)).all()
    groups: dict[str, list[tuple[int, str]]] = {}
    for centre_id, name, province in sorted(rows, key=lambda row: (row[2] is None, row[2] or "", row[1])):
        groups.setdefault(province or "No province", []).append((centre_id, name))
    return list(groups.items())


@bp.get("/accounts/")
@role_required(ADMIN)
def staff_list():
    rt = runtime_of()
    with rt.sessions() as session:
        names = dict(session.execute(select(Centre.id, Centre.name)).all())
    return render_template("staff/accounts.html", members=accounts.list_staff(rt.sessions),
                           centre_names=names, action_form=ActionForm(), me=current_member())


@bp.route("/accounts/new", methods=["GET", "POST"])
@role_required(ADMIN)
def staff_add():
    rt = runtime_of()
    form = AddStaffWithPhoneForm()
    if form.validate_on_submit():
        try:
            member = accounts.add_staff(rt.sessions, form.email.data, form.name.data or "", form.role.data,
                                        None, form.centres.data or (), form.phone.data)
        except StaffError as exc:
            flash(str(exc), "error")
        else:
            audit.record(rt, current_member(), "staff.added", target=member.email, address=client_address(),
                         detail={"role": member.role, "centres": sorted(member.centre_ids),
                                 "phone": member.phone and mask_phone(member.phone)})
            return send_invitation(member, bool(form.text_link.data), new=True)
    chosen = {int(c) for c in form.centres.data or ()}
    return render_template("staff/account_new.html", form=form, groups=_centre_groups(rt), chosen=chosen)


@bp.post("/accounts/<int:staff_id>/disable")
@role_required(ADMIN)
def staff_disable(staff_id: int):
    return _set_active(staff_id, False)


@bp.post("/accounts/<int:staff_id>/enable")
@role_required(ADMIN)
def staff_enable(staff_id: int):
    return _set_active(staff_id, True)


def _set_active(staff_id: int, active: bool):
    member = _member_or_404(staff_id)
    if member.id == current_member().id:
        flash("You cannot disable your own account.", "error")
    elif ActionForm().validate_on_submit():
        rt = runtime_of()
        accounts.set_active(rt.sessions, member.email, active)
        audit.record(rt, current_member(), "staff.enabled" if active else "staff.disabled",
                     target=member.email, address=client_address())
        flash(f"{'Enabled' if active else 'Disabled'} {member.email}.", "info")
    return redirect(url_for("staff.staff_list"))


@bp.route("/accounts/<int:staff_id>/password", methods=["GET", "POST"])
@role_required(ADMIN)
def staff_reset_password(staff_id: int):
    member = _member_or_404(staff_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        rt = runtime_of()
        try:
            accounts.reset_password(rt.sessions, member.email, form.password.data)
        except StaffError as exc:
            flash(str(exc), "error")
        else:
            audit.record(rt, current_member(), "staff.password_reset", target=member.email,
                         address=client_address())
            flash(f"New password set for {member.email}.", "info")
            return redirect(url_for("staff.staff_list"))
    return render_template("staff/account_password.html", form=form, member=member)


@bp.route("/accounts/<int:staff_id>/phone", methods=["GET", "POST"])
@role_required(ADMIN)
def staff_phone(staff_id: int):
    return _phone_page(_member_or_404(staff_id), url_for("staff.staff_list"))


@bp.route("/account", methods=["GET", "POST"])
def my_account():
    """Every role: the account logged in, and its own mobile number (no other account's: the
    account is the session's, whatever the form says)."""
    return _phone_page(current_member(), url_for("staff.my_account"))


@bp.post("/account/texts")
def my_approval_texts():
    """Every role: turn the account's own texts about approvals on or off (audited)."""
    member, form = current_member(), ApprovalTextsForm()
    if form.validate_on_submit():
        on = bool(form.texts.data)
        if staff_notices.set_texts(runtime_of(), member, on, client_address()):
            flash("You will be texted about your approvals." if on else "You will not be texted about approvals.",
                  "info")
    return redirect(url_for("staff.my_account"))


def _phone_page(member: Member, back: str):
    form = PhoneForm()
    if form.validate_on_submit():
        rt = runtime_of()
        try:
            done = accounts.set_phone(rt.sessions, member.email, form.phone.data)
        except StaffError as exc:
            form.phone.errors.append(str(exc))
        else:
            if done.changed:
                audit.record(rt, current_member(), "staff.changed", target=member.email,
                             address=client_address(), detail=done.detail)
            phone = done.member.phone
            flash(f"Mobile number of {member.email} {f'set to {mask_phone(phone)}' if phone else 'removed'}.",
                  "info")
            return redirect(back)
    own = member.id == current_member().id
    texts = staff_notices.texts_since(runtime_of(), member) is not None if own else False
    return render_template("staff/account_phone.html", form=form, member=member, own=own, back=back,
                           texts_form=ApprovalTextsForm(formdata=None, texts=texts), texts=texts)
