"""Bring the materialised list of a set of IMEIs in line with their facts, recording history.

This is the one mechanism by which any list changes: the sweep, every fact and every bulk load
call `refresh_statuses` with the set of IMEIs they touched.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, case, func, insert, literal, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from tizim.domain.rules import Rules
from tizim.storage.schema import imeis, status_changes
from tizim.storage.status_sql import StatusColumns, status_sql
from tizim.storage.types import UtcDateTime


def refresh_statuses(
    conn: Connection,
    which: ColumnElement[bool],
    *,
    now: datetime,
    rules: Rules,
    source: str,
    detail: str | None = None,
) -> int:
    """Recompute the list of every IMEI matching `which`; returns how many changed.

    One statement on PostgreSQL (rows locked, old and new values from the same snapshot);
    two on SQLite, whose single writer makes that equally safe.
    """
    new = status_sql(imeis, now, rules, conn.dialect.name)
    changed = or_(
        new.list != imeis.c.list,
        new.reasons != imeis.c.reasons,
        new.grace_deadline.is_distinct_from(imeis.c.grace_deadline),
    )
    history_columns = ["imei", "from_list", "to_list", "reasons", "source", "detail", "changed_at"]
    stamp = (literal(source), literal(detail), literal(now, UtcDateTime))
    if conn.dialect.name == "postgresql":
        old = (
            select(imeis.c.imei, imeis.c.list.label("from_list"))
            .where(which, changed)
            .with_for_update()
            .cte("old")
        )
        updated = (
            update(imeis)
            .where(imeis.c.imei == old.c.imei)
            .values(**_new_values(new, now))
            .returning(imeis.c.imei, old.c.from_list, imeis.c.list, imeis.c.reasons)
            .cte("updated")
        )
        recorded = (
            insert(status_changes)
            .from_select(
                history_columns,
                select(
                    updated.c.imei, updated.c.from_list, updated.c.list, updated.c.reasons, *stamp
                ),
            )
            .returning(status_changes.c.id)
            .cte("recorded")
        )
        return int(conn.execute(select(func.count()).select_from(recorded)).scalar_one())
    conn.execute(
        insert(status_changes).from_select(
            history_columns,
            select(imeis.c.imei, imeis.c.list, new.list, new.reasons, *stamp).where(which, changed),
        )
    )
    return conn.execute(
        update(imeis).where(which, changed).values(**_new_values(new, now))
    ).rowcount


def _new_values(new: StatusColumns, now: datetime) -> dict[str, object]:
    return {
        "list": new.list,
        "reasons": new.reasons,
        "grace_deadline": new.grace_deadline,
        "list_since": case(
            (new.list != imeis.c.list, literal(now, UtcDateTime)), else_=imeis.c.list_since
        ),
    }
