"""Bring the materialised list of a set of IMEIs in line with their facts, recording history.

This is the one mechanism by which any list changes: the sweep, every fact and every bulk load
call `refresh_statuses` with the set of IMEIs they touched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, insert, literal, null, or_, select, true, update
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


def widen_sightings_with_status(
    conn: Connection,
    seen: Any,
    *,
    only_known: bool,
    changed_into: Any,
    now: datetime,
    rules: Rules,
    source: str,
) -> tuple[int, int]:
    """Widen known IMEIs' first/last sighting to `seen`'s and refresh their list, in one
    UPDATE (PostgreSQL); returns (IMEIs whose sighting times moved, list changes).

    `seen` is a table of `imei`, `first_seen_at`, `last_seen_at` and `new` (`only_known`:
    skip its `new` rows); the IMEIs whose times moved are written to `changed_into` (a table
    with an `imei` column). The list is `refresh_statuses`' — `status_sql` of the row with
    its widened times, history row and `list_since` alike — computed in the statement that
    moves the times: an operator's daily dump moves the times of most IMEIs it shows, and
    their grace deadlines with them, and two updates of each row (times, then list) cost
    twice the writes. A later `refresh_statuses` of the same IMEIs then finds them current.
    """
    row = imeis.c
    moved = or_(
        row.first_seen_at.is_(None),
        row.last_seen_at.is_(None),
        seen.c.first_seen_at < row.first_seen_at,
        seen.c.last_seen_at > row.last_seen_at,
    )
    widened = select(
        *(column for column in row if column.name not in ("first_seen_at", "last_seen_at")),
        func.least(row.first_seen_at, seen.c.first_seen_at).label("first_seen_at"),
        func.greatest(row.last_seen_at, seen.c.last_seen_at).label("last_seen_at"),
    ).where(row.imei == seen.c.imei, moved, ~seen.c.new if only_known else true())
    # rows locked as read, so the list is computed from their latest facts (as refresh does)
    old = widened.with_for_update(of=imeis).cte("widened")
    new = status_sql(old, now, rules, "postgresql")  # type: ignore[arg-type]
    updated = (
        update(imeis)
        .where(row.imei == old.c.imei)
        .values(
            first_seen_at=old.c.first_seen_at,
            last_seen_at=old.c.last_seen_at,
            list=new.list,
            reasons=new.reasons,
            grace_deadline=new.grace_deadline,
            list_since=case(
                (new.list != old.c.list, literal(now, UtcDateTime)), else_=old.c.list_since
            ),
        )
        .returning(
            row.imei,
            old.c.list.label("from_list"),
            row.list.label("to_list"),
            row.reasons.label("to_reasons"),
            or_(
                new.list != old.c.list,
                new.reasons != old.c.reasons,
                new.grace_deadline.is_distinct_from(old.c.grace_deadline),
            ).label("changed"),
        )
        .cte("updated")
    )
    recorded = (
        insert(status_changes)
        .from_select(
            ["imei", "from_list", "to_list", "reasons", "source", "detail", "changed_at"],
            select(
                updated.c.imei,
                updated.c.from_list,
                updated.c.to_list,
                updated.c.to_reasons,
                literal(source),
                null(),
                literal(now, UtcDateTime),
            ).where(updated.c.changed),
        )
        .returning(status_changes.c.id)
        .cte("recorded")
    )
    noted = (
        insert(changed_into)
        .from_select(["imei"], select(updated.c.imei))
        .returning(changed_into.c.imei)
        .cte("noted")
    )
    counts = select(
        select(func.count()).select_from(noted).scalar_subquery(),
        select(func.count()).select_from(recorded).scalar_subquery(),
    )
    moved_count, changes = conn.execute(counts).one()
    return int(moved_count), int(changes)
