"""Staff accounts: creation and password checks (argon2id via argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.store.models import Staff

_hasher = PasswordHasher()
ROLES = ("clerk", "approver", "admin")


class StaffError(ValueError):
    """A staff account could not be created (duplicate email, weak password, bad role)."""


def add_staff(sessions: sessionmaker[Session], email: str, name: str, role: str, password: str) -> Staff:
    email = email.strip().lower()
    if "@" not in email:
        raise StaffError(f"not an email address: {email!r}")
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 10:
        raise StaffError("password must be at least 10 characters")
    try:
        with sessions.begin() as session:
            member = Staff(email=email, name=name.strip(), role=role, password_hash=_hasher.hash(password))
            session.add(member)
    except IntegrityError:
        raise StaffError(f"{email} already has an account") from None
    return member


def check_password(sessions: sessionmaker[Session], email: str, password: str) -> Staff | None:
    with sessions() as session:
        member = session.scalar(select(Staff).where(Staff.email == email.strip().lower(), Staff.active.is_(True)))
    if member is None:
        return None
    try:
        _hasher.verify(member.password_hash, password)
    except VerificationError:
        return None
    return member
