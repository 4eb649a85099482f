"""Small reusable statements: upserts that work on both databases, TAC look-ups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, exists, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from tizim.storage.schema import tacs
from tizim.storage.types import UtcDateTime


def insert_ignoring_conflicts(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """INSERT ... ON CONFLICT DO NOTHING on the primary key, in one round trip."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))


def tac_database_loaded(conn: Connection) -> bool:
    return bool(conn.execute(select(exists().select_from(tacs))).scalar())


def known_tacs(conn: Connection, candidates: Iterable[str]) -> set[str]:
    wanted = sorted(set(candidates))
    found: set[str] = set()
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        found.update(conn.execute(select(tacs.c.tac).where(tacs.c.tac.in_(chunk))).scalars())
    return found


def earliest(conn: Connection, column: Any, value: Any) -> Any:
    """The earlier of a nullable column and a time, in the dialect's own words."""
    value = literal(value, UtcDateTime)
    if conn.dialect.name == "postgresql":
        return func.least(column, value)
    return func.coalesce(func.min(column, value), value)


def latest(conn: Connection, column: Any, value: Any) -> Any:
    value = literal(value, UtcDateTime)
    if conn.dialect.name == "postgresql":
        return func.greatest(column, value)
    return func.coalesce(func.max(column, value), value)
