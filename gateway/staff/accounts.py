"""Staff accounts: creation, password checks (argon2id via argon2-cffi), disabling, password
reset, the centres each account may see, and its mobile number (optional, E.164, one account
per number: staff texts are recognised by it, :func:`member_by_phone`).

Roles: ``admin`` does everything; ``clerk`` works for the centres linked to the account (one or
more); ``approver`` approves broadcasts (all centres, unless the account lists some).
:func:`allowed_centre_ids` is the one scoping rule every staff page applies.

Functions return a :class:`Member` (a detached, immutable view of the account), never the ORM
row. Refusals raise :class:`StaffError` with a message fit to show the person who asked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from config import mask_phone
from gateway.phones import InvalidPhone, to_e164
from gateway.runtime import Runtime
from gateway.staff.targets import LIST_CENTRES
from gateway.store.models import Centre, Staff

# RFC 9106's second recommended option (argon2id, 64 MiB, 3 passes, 4 lanes): the strength
# every stored password gets. tests/cli/test_staff_cli.py checks a real process writes it.
HASH_PARAMETERS = profiles.RFC_9106_LOW_MEMORY
_hasher = PasswordHasher.from_parameters(HASH_PARAMETERS)
_dummy_hashes: dict[str, str] = {}  # per hasher parameters; made on first use, not at import
ADMIN, CLERK, APPROVER = "admin", "clerk", "approver"
REVIEWER = "reviewer"  # a native speaker reviewing translations: the translations pages only
ROLES = (CLERK, APPROVER, ADMIN, REVIEWER)
MIN_PASSWORD = 10
MAX_LOCAL_PART = 64  # RFC 5321: the part before the @ (the whole address is at most 254)
PHONE_CHARS = Staff.__table__.c.phone.type.length  # E.164: "+" and at most 15 digits
# The stored "hash" of an account whose owner has not set a password yet: no argon2 hash starts
# with "!", so nothing verifies against it (and check_password spends a dummy hash's time).
NO_PASSWORD = "!not-set"


class StaffError(ValueError):
    """A staff change was refused: duplicate or unknown email, weak password, bad role or
    centre, a phone that is not a number or is another account's."""


@dataclass(frozen=True)
class Member:
    """One staff account as the rest of the code sees it. ``stamp`` changes whenever the
    password does and whenever the sessions are ended (:func:`end_sessions`: logout, disable,
    re-enable): a login session carries it, so the sessions opened before end."""

    id: int
    email: str
    name: str
    role: str
    centre_ids: frozenset[int]
    active: bool
    stamp: str
    phone: str | None = None  # E.164
    password_set: bool = True  # False: invited, and the owner has not set a password yet

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def allowed_centre_ids(member: Member) -> frozenset[int] | None:
    """The centres ``member`` may see and act for: ``None`` means every centre (admins, and
    approvers with no centre listed); otherwise the account's own centres, possibly none."""
    return centre_scope(member.role, member.centre_ids)


def centre_scope(role: str, centre_ids: frozenset[int]) -> frozenset[int] | None:
    """:func:`allowed_centre_ids` for a role and its listed centres (``None``: every centre)."""
    if role == ADMIN or (role == APPROVER and not centre_ids):
        return None
    return frozenset(centre_ids)


def _member(row: Staff) -> Member:
    stamp = hashlib.sha256(f"{row.password_hash}:{row.session_epoch or 0}".encode()).hexdigest()[:16]
    return Member(row.id, row.email, row.name, row.role, frozenset(c.id for c in row.centres),
                  bool(row.active), stamp, row.phone, row.password_hash != NO_PASSWORD)


def _normal_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise StaffError(f"not an email address: {email!r}")
    if len(email.rpartition("@")[0]) > MAX_LOCAL_PART:
        raise StaffError(f"the part before the @ is at most {MAX_LOCAL_PART} characters")
    return email


def _normal_phone(raw: str | None) -> str | None:
    """``raw`` in E.164 as citizens' numbers are (``082 123 4567`` → ``+27821234567``), or
    ``None`` when it is empty (no phone)."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        phone = to_e164(text)
    except InvalidPhone as exc:
        raise StaffError(f"phone: {exc}") from None
    if len(phone) > PHONE_CHARS:
        raise StaffError(f"phone: at most {PHONE_CHARS - 1} digits")
    return phone


def _refuse_shared_phone(session: Session, phone: str | None, own_id: int | None = None) -> None:
    """Two accounts never share a number: a staff text must name exactly one person."""
    other = phone and session.scalar(select(Staff.email).where(Staff.phone == phone, Staff.id != own_id))
    if other:
        raise StaffError(f"{mask_phone(phone)} is already the phone of {other}")


def checked_password_hash(password: str) -> str:
    """The argon2 hash to store for ``password``, or :class:`StaffError` if the password rules
    refuse it (every way of setting a password goes through here)."""
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"password must be at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def _centres(session: Session, centre_ids: Iterable[int]) -> list[Centre]:
    wanted = sorted(set(centre_ids))
    found = session.scalars(select(Centre).where(Centre.id.in_(wanted))).all() if wanted else []
    missing = sorted(set(wanted) - {c.id for c in found})
    if missing:
        raise StaffError(f"no centre with id {', '.join(map(str, missing))} (`{LIST_CENTRES}` gives each centre's id)")
    return list(found)


def _row(session: Session, email: str) -> Staff:
    row = session.scalar(select(Staff).options(selectinload(Staff.centres))
                         .where(Staff.email == email.strip().lower()))
    if row is None:
        raise StaffError(f"no staff account for {email.strip().lower()}")
    return row


def add_staff(sessions: sessionmaker[Session], email: str, name: str, role: str, password: str | None,
              centre_ids: Iterable[int] = (), phone: str | None = None) -> Member:
    """Create an account. A clerk must be given at least one centre; ``name`` defaults to the
    address's local part; ``phone`` is optional (no other account may have it). ``password``
    ``None``: the account cannot log in until its owner sets one through an invitation
    (:mod:`gateway.staff.invitations`)."""
    email = _normal_email(email)
    phone = _normal_phone(phone)
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    centre_ids = set(centre_ids)
    if role == CLERK and not centre_ids:
        raise StaffError("a clerk needs at least one centre (--centre ID)")
    password_hash = checked_password_hash(password) if password is not None else NO_PASSWORD
    try:
        with sessions.begin() as session:
            row = Staff(email=email, name=name.strip() or email.split("@")[0], role=role,
                        password_hash=password_hash, active=True, session_epoch=0, phone=phone)
            row.centres = _centres(session, centre_ids)
            _refuse_shared_phone(session, phone)
            session.add(row)
            session.flush()
            return _member(row)
    except IntegrityError:
        with sessions() as session:  # which unique column: the number was taken meanwhile?
            _refuse_shared_phone(session, phone)
        raise StaffError(f"{email} already has an account") from None


def _dummy_hash() -> str:
    """Verified when the email has no account, so a wrong address costs as long as a wrong
    password. Made on first use: hashing at import cost every worker and command half a
    second of start-up."""
    params = f"{_hasher.time_cost}/{_hasher.memory_cost}/{_hasher.parallelism}"
    if params not in _dummy_hashes:
        _dummy_hashes[params] = _hasher.hash("no such account, no such password")
    return _dummy_hashes[params]


def check_password(sessions: sessionmaker[Session], email: str, password: str) -> Member | None:
    """The active account ``email`` if ``password`` is its password, else ``None``. Rehashes
    the password when the argon2 parameters have been raised since it was set."""
    with sessions.begin() as session:
        row = session.scalar(select(Staff).options(selectinload(Staff.centres))
                             .where(Staff.email == email.strip().lower(), Staff.active.is_(True)))
        unset = row is None or row.password_hash == NO_PASSWORD
        try:
            _hasher.verify(_dummy_hash() if unset else row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if unset:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        return _member(row)


def get_member(sessions: sessionmaker[Session], staff_id: int) -> Member | None:
    """The account with id ``staff_id`` (active or not), or ``None``."""
    with sessions() as session:
        row = session.scalar(select(Staff).options(selectinload(Staff.centres)).where(Staff.id == staff_id))
        return _member(row) if row else None


def find_member(sessions: sessionmaker[Session], email: str) -> Member | None:
    """The account for ``email`` (active or not), or ``None``."""
    with sessions() as session:
        try:
            return _member(_row(session, email))
        except StaffError:
            return None


def list_staff(sessions: sessionmaker[Session]) -> list[Member]:
    """Every account, active or not, by email."""
    with sessions() as session:
        rows = session.scalars(select(Staff).options(selectinload(Staff.centres)).order_by(Staff.email))
        return [_member(row) for row in rows]


def set_active(sessions: sessionmaker[Session], email: str, active: bool) -> Member:
    """Disable (or re-enable) an account; a disabled account cannot log in, and every session
    opened before either change has ended (re-enabling does not revive them)."""
    with sessions.begin() as session:
        row = _row(session, email)
        row.active = active
        row.session_epoch = Staff.session_epoch + 1
        session.flush()
        session.refresh(row, ["session_epoch"])
        return _member(row)


def end_sessions(sessions: sessionmaker[Session], staff_id: int) -> None:
    """End every login session of the account ``staff_id`` (on every device): its stamp
    changes, so the cookies issued before no longer log anyone in, wherever they were copied."""
    with sessions.begin() as session:
        session.execute(update(Staff).where(Staff.id == staff_id)
                        .values(session_epoch=Staff.session_epoch + 1))


def reset_password(sessions: sessionmaker[Session], email: str, password: str) -> Member:
    """Set a new password for ``email`` (sessions opened with the old one end)."""
    password_hash = checked_password_hash(password)
    with sessions.begin() as session:
        row = _row(session, email)
        row.password_hash = password_hash
        return _member(row)


@dataclass(frozen=True)
class PhoneChange:
    """What :func:`set_phone` did: the account after, and its number before."""

    member: Member
    before: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.member.phone

    @property
    def detail(self) -> dict:
        """The audit detail (``staff.changed``): both numbers masked, as on every screen."""
        return {"field": "phone", "from": self.before and mask_phone(self.before),
                "to": self.member.phone and mask_phone(self.member.phone)}


def set_phone(sessions: sessionmaker[Session], email: str, phone: str | None) -> PhoneChange:
    """Set (or, with ``None`` or empty, clear) the mobile number of ``email``."""
    phone = _normal_phone(phone)
    try:
        with sessions.begin() as session:
            row = _row(session, email)
            _refuse_shared_phone(session, phone, row.id)
            before, row.phone = row.phone, phone
            session.flush()
            return PhoneChange(_member(row), before)
    except IntegrityError:
        with sessions() as session:  # taken by another account between the check and the write
            _refuse_shared_phone(session, phone)
        raise


def member_by_phone(rt: Runtime, e164: str) -> Member | None:
    """The active account whose mobile number is ``e164``, or ``None`` (no account has it, or
    its account is disabled: a disabled person's texts are a citizen's)."""
    with rt.sessions() as session:
        row = session.scalar(select(Staff).options(selectinload(Staff.centres))
                             .where(Staff.phone == e164, Staff.active.is_(True)))
        return _member(row) if row else None
