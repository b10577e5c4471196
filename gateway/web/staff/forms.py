"""The staff pages' forms (Flask-WTF: each carries its CSRF token and validates its fields)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    FloatField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional

from gateway.directory.hours import DAY_LABELS, DAYS
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


class CentreForm(FlaskForm):
    """A centre's editable fields. ``centre_id`` repeats the id in the URL: a form whose copy
    differs (tampered, or posted to another centre's address) is refused."""

    centre_id = IntegerField(widget=HiddenField.widget)
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    address = TextAreaField("Address", validators=[Optional(), Length(max=500)])
    phone = StringField("Phone", validators=[Optional(), Length(max=32)])
    latitude = FloatField("Latitude", validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField("Longitude", validators=[Optional(), NumberRange(-180, 180)])
    active = BooleanField("Open to the public (listed for citizens)")
    services = SelectMultipleField("Services", validate_choice=False)


for _day, _label in zip(DAYS, DAY_LABELS, strict=True):
    setattr(CentreForm, f"hours_{_day}", StringField(_label, validators=[Optional(), Length(max=40)]))


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired()])


class ConfirmImportForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
