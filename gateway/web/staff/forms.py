"""The staff pages' forms (Flask-WTF: each carries its CSRF token and validates its fields)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from gateway.staff.accounts import MIN_PASSWORD, ROLES


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class NewPasswordMixin:
    password = PasswordField("New password", validators=[DataRequired(), Length(min=MIN_PASSWORD, max=1024)])
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", "The passwords differ.")])


class AddStaffForm(NewPasswordMixin, FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[Optional(), Length(max=128)])
    role = SelectField("Role", choices=[SelectChoice(r) for r in ROLES])
    centres = SelectMultipleField("Centres (clerks: at least one)", coerce=int, validate_choice=False)


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    pass


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token."""
