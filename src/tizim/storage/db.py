"""Engine construction: one place that knows the differences between SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from tizim.domain.rules import Rules

SQLITE_GRACE_DEADLINE_FUNCTION = "tizim_grace_deadline"


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 here."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, rules: Rules, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect(rules))
        return engine
    return create_engine(
        url,
        connect_args={"options": "-c timezone=UTC"},
        pool_pre_ping=True,
        **kwargs,
    )


def _sqlite_on_connect(rules: Rules) -> Any:
    def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        dbapi_connection.create_function(
            SQLITE_GRACE_DEADLINE_FUNCTION, 1, _sqlite_grace_deadline(rules), deterministic=True
        )

    return on_connect


def _sqlite_grace_deadline(rules: Rules) -> Any:
    """SQLite has no time zones: the domain's own deadline rule runs inside the SQL engine."""

    def grace_deadline(first_seen: str | None) -> str | None:
        if first_seen is None:
            return None
        moment = datetime.fromisoformat(first_seen).replace(tzinfo=UTC)
        deadline = rules.grace_deadline(moment).replace(tzinfo=None)
        return deadline.isoformat(sep=" ", timespec="microseconds")

    return grace_deadline
