"""The staff pages' forms (Flask-WTF: each carries its CSRF token and validates its fields)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    FloatField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
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
    filename = HiddenField(validators=[Length(max=200)])  # shown while the import runs


LANGUAGE_NAMES = {"zu": "isiZulu", "xh": "isiXhosa", "af": "Afrikaans", "en": "English", "nso": "Sepedi",
                  "tn": "Setswana", "st": "Sesotho", "ts": "Xitsonga", "ss": "siSwati", "ve": "Tshivenda",
                  "nr": "isiNdebele"}
TARGET_KINDS = [SelectChoice("centre", "One or more centres"), SelectChoice("all", "All subscribers"),
                SelectChoice("province", "A province"), SelectChoice("municipality", "A municipality"),
                SelectChoice("service", "Centres offering a service")]


class BroadcastForm(FlaskForm):
    """Compose a broadcast. Choices are filled per request (a clerk's centres only), but not
    enforced here: a tampered field reaches the domain, which refuses it and says why."""

    kind = SelectField("Send to", choices=TARGET_KINDS, validate_choice=False)
    province = SelectField("Province", validate_choice=False)
    municipality = StringField("Municipality", validators=[Optional(), Length(max=120)])
    centres = SelectMultipleField("Centres", coerce=int, validate_choice=False)
    service = SelectField("Service", validate_choice=False)
    language = SelectField("Language", validate_choice=False,
                           choices=[SelectChoice("", "Every language")]
                           + [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()])
    message = TextAreaField("Message", validators=[DataRequired("Write the message."), Length(max=1000)])
    when = RadioField("When", choices=[SelectChoice("now", "Send now"), SelectChoice("at", "Send at")],
                      default="now", validate_choice=False)
    at = DateTimeLocalField("Date and time (South African time)", format="%Y-%m-%dT%H:%M", validators=[Optional()])


class ClerkBroadcastForm(BroadcastForm):
    """A clerk's form: the kind is fixed to their centres (a hidden field, still checked)."""

    kind = HiddenField(default="centre")


class RejectForm(FlaskForm):
    reason = TextAreaField("Reason (shown to the author)",
                           validators=[DataRequired("Give the author a reason."), Length(max=500)])


class PrivacyLookupForm(FlaskForm):
    """One number; the button pressed (``action``: show, json or delete) says what to do."""

    number = StringField("Phone number", validators=[DataRequired("Type the number."), Length(max=32)])


class PrivacyDeleteForm(FlaskForm):
    """The confirm step of a deletion: the number typed again, nothing carried over."""

    number = StringField("Type the number again to confirm", validators=[DataRequired("Type the number."),
                                                                        Length(max=32)])
    confirmed = HiddenField()  # "yes" only from the confirm page (a default would fill a missing one)


class VisitForm(FlaskForm):
    """Register or change a service visit. The centre's choices are the member's centres; the
    domain checks them again (and the details), and its refusal is shown on the form."""

    centre = SelectField("Centre", coerce=int, validate_choice=False)
    service = StringField("Service that visits (e.g. SASSA, Home Affairs)",
                          validators=[DataRequired("Name the service."), Length(max=24)])
    day = DateField("Day", validators=[DataRequired("Give the day.")])
    starts = TimeField("From (South African time)", validators=[DataRequired("Give the start time.")])
    ends = TimeField("Until", validators=[DataRequired("Give the end time.")])
