"""Registry staff accounts and their console sessions.

Passwords are hashed with argon2id (argon2-cffi's defaults follow RFC 9106's recommendation)
and re-hashed on login when those parameters change. A session is a random 256-bit token
in an HttpOnly cookie; the database keeps only its SHA-256, so a leaked table cannot be
replayed. Each session carries its own CSRF token for the console's forms.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update

from tizim.storage.tables_portal import staff_sessions, staff_users

_HASHER = PasswordHasher()
# Verified when the user does not exist, so "no such user" costs as long as "wrong password".
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12


class StaffUserError(ValueError):
    """A staff account request that cannot be done; the message says why."""


@dataclass(frozen=True)
class StaffUser:
    username: str
    display_name: str


@dataclass(frozen=True)
class StaffSession:
    user: StaffUser
    csrf_token: str
    expires_at: datetime


def create_staff_user(
    conn: Connection, *, username: str, password: str, display_name: str, now: datetime
) -> StaffUser:
    if not USERNAME.match(username):
        raise StaffUserError(
            f"user name {username!r}: 2–64 characters, lower-case letters, digits, . _ -,"
            " starting with a letter"
        )
    _check_password(password)
    exists = conn.execute(
        select(staff_users.c.username).where(staff_users.c.username == username)
    ).first()
    if exists:
        raise StaffUserError(f"staff user {username!r} already exists")
    conn.execute(
        insert(staff_users).values(
            username=username,
            display_name=display_name or username,
            password_hash=_HASHER.hash(password),
            created_at=now,
        )
    )
    return StaffUser(username, display_name or username)


def set_password(conn: Connection, *, username: str, password: str) -> None:
    _check_password(password)
    done = conn.execute(
        update(staff_users)
        .where(staff_users.c.username == username)
        .values(password_hash=_HASHER.hash(password))
    )
    if done.rowcount != 1:
        raise StaffUserError(f"no staff user {username!r}")
    conn.execute(delete(staff_sessions).where(staff_sessions.c.username == username))


def authenticate(conn: Connection, *, username: str, password: str) -> StaffUser | None:
    """The user when the password is right and the account active; None otherwise."""
    row = conn.execute(select(staff_users).where(staff_users.c.username == username)).first()
    stored = row.password_hash if row is not None and row.disabled_at is None else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled_at is not None:
        return None
    if _HASHER.check_needs_rehash(stored):
        conn.execute(
            update(staff_users)
            .where(staff_users.c.username == username)
            .values(password_hash=_HASHER.hash(password))
        )
    return StaffUser(row.username, row.display_name)


def start_session(conn: Connection, user: StaffUser, *, now: datetime, hours: int) -> str:
    """A new session; returns the cookie value (shown once, stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    conn.execute(delete(staff_sessions).where(staff_sessions.c.expires_at < now))
    conn.execute(
        insert(staff_sessions).values(
            token_sha256=_digest(token),
            username=user.username,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return token


def session_for(conn: Connection, token: str | None, *, now: datetime) -> StaffSession | None:
    if not token:
        return None
    row = conn.execute(
        select(staff_sessions, staff_users.c.display_name, staff_users.c.disabled_at)
        .join(staff_users, staff_users.c.username == staff_sessions.c.username)
        .where(staff_sessions.c.token_sha256 == _digest(token))
    ).first()
    if row is None or row.expires_at <= now or row.disabled_at is not None:
        return None
    return StaffSession(StaffUser(row.username, row.display_name), row.csrf_token, row.expires_at)


def end_session(conn: Connection, token: str | None) -> None:
    if token:
        conn.execute(delete(staff_sessions).where(staff_sessions.c.token_sha256 == _digest(token)))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffUserError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
