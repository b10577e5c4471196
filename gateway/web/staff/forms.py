"""The staff pages' forms (Flask-WTF: each carries its CSRF token and validates its fields)."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime

from flask import g
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
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
from wtforms.utils import unset_value
from wtforms.validators import (
    DataRequired,
    EqualTo,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import html_params

from gateway.dialogue.offices import OFFICES
from gateway.directory.hours import DAYS
from gateway.phones import InvalidPhone, to_e164
from gateway.staff.accounts import MIN_PASSWORD, ROLES
from gateway.staff.visit_text import NOTICE_CHARS

MAX_ID = 2**31 - 1  # PostgreSQL's integer: no row has a larger id


def record_id(value) -> int:
    """``coerce`` for a field naming a row by id: a number no row can have is the field's
    error, not a query that overflows the database's integer."""
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(f"no such record: {value}")
    return number


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class NewPasswordMixin:
    password = PasswordField("New password", validators=[
        DataRequired("Type a password."),
        Length(min=MIN_PASSWORD, max=1024, message=f"A password has at least {MIN_PASSWORD} characters (at most 1024).")])
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", "The passwords differ.")])


class AddStaffForm(FlaskForm):
    """Add an account. No password: the person sets their own through the invitation the page
    shows next (and texts, if asked). ``centres`` is a list of checkboxes (``_centre_picker``)."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[Optional(), Length(max=128)])
    role = SelectField("Role", choices=[SelectChoice(r) for r in ROLES])
    centres = SelectMultipleField("Centres (clerks: at least one)", coerce=record_id, validate_choice=False)
    text_link = BooleanField("Also text the invitation link to their mobile number")


class InviteForm(FlaskForm):
    """Send an account a new invitation (the earlier link stops working)."""

    text_link = BooleanField("Also text the link to their mobile number")


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    pass


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token."""


# The days as a clerk says them: the form's labels and the words of its save messages.
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# A centre's fields as an editor reads them in "Saved …" and "waits for an approver" lines.
_FIELD_WORDS = {"name": "name", "address": "address", "phone": "phone number", "latitude": "latitude",
                "longitude": "longitude", "active": "open to the public", "services": "services",
                "offices": "offices",
                **{f"hours_{day}": f"{name} hours" for day, name in zip(DAYS, DAY_NAMES, strict=True)}}


def field_words(names) -> list[str]:
    """``["hours_sat", "services"]`` as ``["Saturday hours", "services"]`` (an unknown name as is)."""
    return [_FIELD_WORDS.get(name, name.replace("_", " ")) for name in names]


def with_error_attrs(attrs: dict, field) -> dict:
    """Jinja filter: a field's render ``attrs`` plus, when it has errors, ``aria-invalid`` and
    ``aria-describedby`` naming its error text (``<id>-error``), and ``autofocus`` on the first
    such field of the page (documents order = render order), so a screen reader and the caret
    land on what needs fixing without any script."""
    if not field.errors:
        return attrs
    extra = {"aria-invalid": "true", "aria-describedby": f"{field.id}-error"}
    if not g.get("error_focused"):
        g.error_focused = True
        extra["autofocus"] = True
    return {**attrs, **extra}


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
    offices = SelectMultipleField("Offices", validate_choice=False)  # codes checked by gateway.staff


for _day, _label in zip(DAYS, DAY_NAMES, strict=True):
    setattr(CentreForm, f"hours_{_day}", StringField(_label, validators=[Optional(), Length(max=40)]))


class OfficeStatusForm(FlaskForm):
    """One office's form on the "Offices today" page: its code, a reason chosen (or none) and
    the button pressed (``state``). The words are checked by gateway.staff (a form error)."""

    office = HiddenField(validators=[DataRequired("Choose an office."), Length(max=20)])
    state = HiddenField(validators=[DataRequired("Choose Up, Slow or Down."), Length(max=10)])
    reason = HiddenField(validators=[Length(max=40)])


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


MONTHS = tuple(calendar.month_name)[1:]
_TIME = re.compile(r"(\d{1,2})[:h.](\d{2})")


def _date_time_widget(field, **kwargs) -> Markup:
    """Day and month as selects (the month by name), year and 24-hour time as short text boxes."""
    def select(part: str, label: str, options) -> str:
        chosen = field.parts[part]
        items = "".join(f'<option value="{v}"{" selected" if str(v) == chosen else ""}>{escape(text)}</option>'
                        for v, text in [("", "–"), *options])
        return f'<label>{label} <select {html_params(name=f"{field.name}-{part}", id=f"{field.id}-{part}")}>{items}</select></label>'

    def box(part: str, label: str, size: int, placeholder: str) -> str:
        params = html_params(name=f"{field.name}-{part}", id=f"{field.id}-{part}", value=field.parts[part],
                             size=size, maxlength=size, inputmode="numeric", placeholder=placeholder,
                             autocomplete="off")
        return f"<label>{label} <input {params}></label>"

    return Markup(f'<span class="datetime" id="{escape(field.id)}">'
                  + select("day", "Day", [(d, d) for d in range(1, 32)])
                  + select("month", "Month", list(enumerate(MONTHS, 1)))
                  + box("year", "Year", 4, "2026") + box("time", "Time (24-hour)", 5, "09:00") + "</span>")


class DateTimeInParts(Field):
    """A date and time that no browser's locale can reorder: day, month by name, four-digit
    year and 24-hour time, posted as ``<name>-day``, ``-month`` (1–12), ``-year``, ``-time``
    (``HH:MM``). A browser's own date picker shows 10/12 as mm/dd on an English (US) browser
    and dd/mm elsewhere; these four read the same everywhere, with or without JavaScript.

    ``data`` is a naive ``datetime`` (the caller says which zone), or ``None`` when all four are
    empty; a part missing, a year outside ``years``, a time that is not one, or a date that does
    not exist (31 February) is a field error saying which — never an exception. Whether an empty
    field is allowed is the form's business (``Optional``/``DataRequired``, or an inline check).
    :meth:`suggest` fills the date (not the time) of a form not yet posted."""

    widget = staticmethod(_date_time_widget)
    PARTS = ("day", "month", "year", "time")

    def __init__(self, label=None, validators=None, years: tuple[int, int] = (2000, 2100), **kwargs):
        super().__init__(label, validators, **kwargs)
        self.years = years

    def process_data(self, value) -> None:
        self.data = value
        self.parts = dict.fromkeys(self.PARTS, "")
        if isinstance(value, datetime):
            self.parts = {"day": str(value.day), "month": str(value.month), "year": str(value.year),
                          "time": f"{value:%H:%M}"}

    def process(self, formdata, data=unset_value, extra_filters=None) -> None:
        super().process(None, data, extra_filters)
        if formdata is None:
            return
        self.parts = {part: str(formdata.get(f"{self.name}-{part}", ""))[:12].strip() for part in self.PARTS}
        self.raw_data = [value for value in self.parts.values() if value]
        try:
            self.data = self._combine() if self.raw_data else None
        except ValueError as exc:
            self.data = None
            self.process_errors.append(str(exc))

    def suggest(self, day: date) -> None:
        if not any(self.parts.values()):
            self.parts.update(day=str(day.day), month=str(day.month), year=str(day.year))

    def _combine(self) -> datetime:
        parts, low, high = self.parts, *self.years
        day, month, year = (int(parts[p]) if parts[p].isdecimal() else 0 for p in ("day", "month", "year"))
        if not 1 <= day <= 31:
            raise ValueError("Choose the day.")
        if not 1 <= month <= 12:
            raise ValueError("Choose the month.")
        if not (len(parts["year"]) == 4 and low <= year <= high):
            raise ValueError(f"Give the year in four digits, between {low} and {high}.")
        if day > calendar.monthrange(year, month)[1]:
            raise ValueError(f"{MONTHS[month - 1]} {year} has only {calendar.monthrange(year, month)[1]} days.")
        time = _TIME.fullmatch(parts["time"])
        if not time or int(time[1]) > 23 or int(time[2]) > 59:
            raise ValueError("Give the time on the 24-hour clock, e.g. 09:00 or 14:30.")
        return datetime(year, month, day, int(time[1]), int(time[2]))


class BroadcastForm(FlaskForm):
    """Compose a broadcast. Choices are filled per request (a clerk's centres only), but not
    enforced here: a tampered field reaches the domain, which refuses it and says why."""

    kind = SelectField("Send to", choices=TARGET_KINDS, validate_choice=False)
    province = SelectField("Province", validate_choice=False)
    municipality = StringField("Municipality", validators=[Optional(), Length(max=120)])
    centres = SelectMultipleField("Centres", coerce=record_id, validate_choice=False)
    service = SelectField("Service", validate_choice=False)
    language = SelectField("Language", validate_choice=False,
                           choices=[SelectChoice("", "Every language")]
                           + [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()])
    message = TextAreaField("Message", validators=[DataRequired("Write the message."), Length(max=1000)])
    when = RadioField("When", choices=[SelectChoice("now", "Send now"), SelectChoice("at", "Send at")],
                      default="now", validate_choice=False)
    at = DateTimeInParts("Date and time (South African time)")
    # The confirm page's: the digest of what it showed, the recipient count shown and its
    # one-time token (gateway.staff.send_check judges them; empty on the compose page).
    seen = HiddenField(validators=[Optional(), Length(max=64)])
    shown_recipients = HiddenField(validators=[Optional(), Length(max=12)])
    token = HiddenField(validators=[Optional(), Length(max=64)])
    step = HiddenField(validators=[Optional(), Length(max=12)])  # "confirm": a post from the confirm page
    # The rejected broadcast this one edits and resubmits (its reason is shown beside the form).
    resubmits = HiddenField(validators=[Optional(), Length(max=12)])

    def shown_count(self) -> int | None:
        """The recipient count the confirm page showed, if it posted a sane one."""
        raw = (self.shown_recipients.data or "").strip()
        return int(raw) if raw.isdecimal() and len(raw) <= 9 else None

    def validate_at(self, field: DateTimeInParts) -> None:
        """Needed, and judged, only for "Send at": with "Send now" whatever it holds is ignored."""
        if self.when.data != "at":
            field.errors[:] = []
            raise StopValidation()
        if field.data is None and not field.errors:
            raise ValidationError("Give the date and time to send at, or choose Send now.")


class ClerkBroadcastForm(BroadcastForm):
    """A clerk's form: the kind is fixed to their centres (a hidden field, still checked)."""

    kind = HiddenField(default="centre")


class RejectForm(FlaskForm):
    reason = TextAreaField("Reason (shown to the author)",
                           validators=[DataRequired("Give the author a reason."), Length(max=500)])


class DecideForm(FlaskForm):
    """Approve something waiting: ``seen`` is the digest of what the approver read on the page
    (the domain refuses the decision if that changed since)."""

    seen = HiddenField(validators=[DataRequired("Open the page again and decide."), Length(max=64)])


class DecideRejectForm(RejectForm):
    seen = HiddenField(validators=[DataRequired("Open the page again and decide."), Length(max=64)])


class PrivacyLookupForm(FlaskForm):
    """One number; the button pressed (``action``: show, json or delete) says what to do."""

    number = StringField("Phone number", validators=[DataRequired("Type the number."), Length(max=32)])


class PrivacyDeleteForm(FlaskForm):
    """The confirm step of a deletion: the number typed again, nothing carried over."""

    number = StringField("Type the number again to confirm", validators=[DataRequired("Type the number."),
                                                                        Length(max=32)])
    confirmed = HiddenField()  # "yes" only from the confirm page (a default would fill a missing one)
    subject = HiddenField(validators=[Length(max=500)])  # the signed reference of the number looked up


class VisitForm(FlaskForm):
    """Register or change a service visit. The centre's choices are the member's centres; the
    domain checks them again (and the details), and its refusal is shown on the form."""

    centre = SelectField("Centre", coerce=record_id, validate_choice=False)
    office = SelectField("Office that visits", choices=[SelectChoice("", "Other (name it below)")]
                         + [SelectChoice(code, name) for code, name, _services in OFFICES], default="")
    service = StringField("Service that visits, if another (e.g. Mobile clinic)",
                          validators=[Length(max=24)])  # required without an office: validate_service
    day = DateField("Day", validators=[DataRequired("Give the day.")])
    starts = TimeField("From (South African time)", validators=[DataRequired("Give the start time.")])
    ends = TimeField("Until", validators=[DataRequired("Give the end time.")])
    notice = TextAreaField("Notice text (keep {service}, {centre} and {when}: they are filled in from the visit)",
                           validators=[Optional(), Length(max=NOTICE_CHARS)])
    confirmed = HiddenField(validators=[Optional(), Length(max=64)])  # the warnings shown (their digest)
    confirm = BooleanField("I have checked the above: announce it anyway")

    def validate_service(self, field) -> None:
        """An office, or the name of whoever else visits: citizens are told who comes."""
        if not self.office.data and not (field.data or "").strip():
            raise StopValidation("Name the service.")


class CancelVisitForm(FlaskForm):
    """Cancel a visit (every role): a reason, kept in the audit log, and a ticked confirmation."""

    reason = TextAreaField("Why is it cancelled? (kept in the audit log)",
                           validators=[DataRequired("Say why the visit is cancelled."), Length(max=500)])
    confirm = BooleanField("Yes, cancel this visit", validators=[DataRequired("Tick the box to confirm.")])


class CentreChangeForm(FlaskForm):
    """Approve a centre's change: ``seen`` is the digest of what the page showed (a change
    altered since is refused)."""

    seen = HiddenField(validators=[DataRequired(), Length(max=64)])


class CentreChangeRejectForm(CentreChangeForm):
    reason = TextAreaField("Reason (shown to the clerk)",
                           validators=[DataRequired("Give the clerk a reason."), Length(max=500)])


PHONE_INPUT = 32  # what a person may type ("+27 (0)82 123-4567"); stored as E.164 (16 at most)


def e164(_form, field) -> None:
    """Validator: the number in E.164, as it is stored, or the field's error saying why."""
    if (field.data or "").strip():
        try:
            field.data = to_e164(field.data)
        except InvalidPhone as exc:
            raise ValidationError(str(exc)) from None


def _phone_field() -> StringField:
    return StringField("Mobile number (optional; e.g. 071 555 0123)",
                       validators=[Optional(), Length(max=PHONE_INPUT), e164])


class AddStaffWithPhoneForm(AddStaffForm):
    """Add an account, with the person's mobile number (no other account may have it)."""

    phone = _phone_field()


class PhoneForm(FlaskForm):
    """Set a staff account's mobile number; empty removes it."""

    phone = _phone_field()


class MessageLogForm(FlaskForm):
    """A number to read the message log of (never shown back: the page shows it masked)."""

    number = StringField("Phone number (e.g. 071 555 0123 or +27 71 555 0123)",
                         validators=[DataRequired("Type the number."), Length(max=PHONE_INPUT)])


class ApprovalTextsForm(FlaskForm):
    """Whether the account is texted about its approvals."""

    texts = BooleanField("Text me when something of mine is rejected or something waits for my approval")


# How a thread ends, in staff's words (a fixed list: counted, never a citizen's details).
OUTCOMES = ("Answered", "Resolved", "Referred to another office", "Not something we can help with",
            "Duplicate of another question", "No answer needed")


class AnswerForm(FlaskForm):
    """An answer to a citizen: ``seen`` is the digest of the thread as its page showed it
    (:func:`gateway.staff.inbox.seen_digest`)."""

    answer = TextAreaField("Answer (sent by SMS, the reference first)",
                           validators=[DataRequired("Write the answer."), Length(max=1000)])
    seen = HiddenField(validators=[DataRequired("Open the thread again and answer."), Length(max=64)])


class NoteForm(FlaskForm):
    note = TextAreaField("Internal note (staff only, never sent)",
                         validators=[DataRequired("Write the note."), Length(max=2000)])


class CloseForm(FlaskForm):
    outcome = SelectField("Outcome", choices=[SelectChoice(o) for o in OUTCOMES])
    seen = HiddenField(validators=[DataRequired("Open the thread again and close it."), Length(max=64)])


def chosen_id(value) -> int | None:
    """``coerce`` for a choice of row that starts on "choose one" (empty: None)."""
    return None if value in ("", None) else record_id(value)


class TransferForm(FlaskForm):
    centre = SelectField("Send to centre", coerce=chosen_id, validate_choice=False,
                         validators=[DataRequired("Choose the centre to send it to.")])


class TranslationCorrectForm(FlaskForm):
    """"Correct" on one string: its key and the wording the page showed (a wording changed
    since is not marked)."""

    key = StringField(validators=[DataRequired(), Length(max=80)])
    seen = TextAreaField(validators=[DataRequired(), Length(max=1000)])


class TranslationSuggestForm(FlaskForm):
    key = StringField(validators=[DataRequired(), Length(max=80)])
    text = TextAreaField("Suggested wording", validators=[DataRequired("Write the wording."), Length(max=1000)])
