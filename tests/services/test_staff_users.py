"""Staff accounts: argon2 hashes, login, sessions with expiry, and the `tizim staff add` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tizim.runtime import Runtime
from tizim.services.staff_users import (
    StaffUserError,
    authenticate,
    create_staff_user,
    end_session,
    session_for,
    start_session,
)
from tizim.storage.tables_portal import staff_sessions, staff_users

NOW = datetime(2025, 11, 20, 9, tzinfo=UTC)
PASSWORD = "correct horse battery"


def test_login_session_and_logout(registry: Runtime) -> None:
    with registry.transaction() as conn:
        create_staff_user(
            conn, username="aigerim", password=PASSWORD, display_name="Айгерім", now=NOW
        )
        stored = conn.execute(select(staff_users.c.password_hash)).scalar_one()
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        assert authenticate(conn, username="aigerim", password="wrong password!") is None
        assert authenticate(conn, username="nobody", password=PASSWORD) is None
        user = authenticate(conn, username="aigerim", password=PASSWORD)
        assert user is not None and user.display_name == "Айгерім"
        token = start_session(conn, user, now=NOW, hours=8)
        assert token not in {row.token_sha256 for row in conn.execute(select(staff_sessions))}
        session = session_for(conn, token, now=NOW + timedelta(hours=7))
        assert session is not None and session.user == user and len(session.csrf_token) > 30
        assert session_for(conn, token, now=NOW + timedelta(hours=8)) is None
        assert session_for(conn, token + "x", now=NOW) is None
        end_session(conn, token)
        assert session_for(conn, token, now=NOW) is None


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [("Bad Name", PASSWORD, "lower-case"), ("ok", "short", "at least 12")],
)
def test_bad_accounts_are_refused(
    registry: Runtime, username: str, password: str, message: str
) -> None:
    with registry.transaction() as conn, pytest.raises(StaffUserError, match=message):
        create_staff_user(conn, username=username, password=password, display_name="", now=NOW)


def test_cli_adds_a_staff_user_once(registry_url: str, registry: Runtime) -> None:
    done = _staff_add(registry_url, "daniyar", "--name", "Данияр")
    assert done.returncode == 0, done.stderr
    again = _staff_add(registry_url, "daniyar")
    assert again.returncode == 1 and "already exists" in again.stderr
    with registry.transaction() as conn:
        assert authenticate(conn, username="daniyar", password=PASSWORD) is not None


def _staff_add(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, with the password on standard input as an operator would pipe it."""
    return subprocess.run(
        [sys.executable, "-m", "tizim", "staff", "add", *args, "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, "TIZIM_DATABASE_URL": database_url, "COLUMNS": "200"},
        timeout=120,
        check=False,
    )
