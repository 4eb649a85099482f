"""Bulk loads on PostgreSQL: new IMEIs are inserted with their list already computed.

`refresh_statuses` is the one way a list *changes*; a bulk load that inserted each new IMEI as
`unknown` and then refreshed it would write every new row twice (insert, then update with a
new tuple and new index entries). Here a new IMEI's list, reasons and grace deadline come from
the same rule, `status_sql`, applied to the facts the load brings, and its history row (from
`unknown`, as a refresh would write it) is appended by the same statement. IMEIs that already
existed are found first and only get the load's new facts; their ids are collected so the
caller refreshes exactly those with `refresh_statuses`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    DateTime,
    Select,
    String,
    Table,
    and_,
    cast,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    not_,
    null,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.storage.schema import imeis, status_changes
from tizim.storage.status_sql import status_sql
from tizim.storage.types import UtcDateTime

FLAG_COLUMNS = (
    "trusted_source",
    "verified",
    "paired",
    "gsma_blacklisted",
    "reported_stolen",
    "clone_suspected",
)
TIME_COLUMNS = ("first_seen_at", "last_seen_at", "retired_at")
COUNT_ROWS = {"preserve_rowcount": True}  # SQLAlchemy forgets an INSERT's rowcount otherwise


@dataclass(frozen=True)
class UpsertCounts:
    list_changes: int  # history rows written for new IMEIs
    existing: int  # IMEIs that were already in `imeis`: the caller refreshes them


def _no_fact(name: str) -> ColumnElement[Any]:
    """The value of a fact column for an IMEI nothing is known about (typed, for PostgreSQL)."""
    if name in FLAG_COLUMNS:
        return cast(false(), Boolean).label(name)
    if name in TIME_COLUMNS:
        return cast(null(), DateTime(timezone=True)).label(name)
    return cast(null(), String).label(name)


def upsert_imeis_with_status(
    conn: Connection,
    rows: Select[tuple[object, ...]],
    *,
    update_existing: Sequence[str],
    existing_into: Table,
    now: datetime,
    rules: Rules,
    source: str,
    existing_found: int | None = None,
    in_imei_order: bool = False,
) -> UpsertCounts:
    """Insert the IMEIs of `rows` with their status, update those that exist; returns counts.

    `rows` selects `imei` and any fact columns of `imeis` (`trusted_source`, `first_seen_at`…)
    plus `device_id`; absent fact columns mean "no such fact". An IMEI already in `imeis`
    gets the `update_existing` columns of its row and its id is written to `existing_into` (a
    table with an `imei` column): the caller then calls `refresh_statuses` for those. A caller
    that has already looked them up (`find_existing`) passes how many as `existing_found`;
    one whose `rows` come in IMEI order says so (`in_imei_order`) and saves a sort. Rows are
    inserted in IMEI order, so the b-tree indexes on `imei` are filled page after page.

    The known IMEIs are found first, so the new ones go in by a plain INSERT: `ON CONFLICT`
    nearly doubles the cost of each row (a speculative insertion, confirmed by a WAL record of
    its own). Should a concurrent transaction insert one of the IMEIs meanwhile, the INSERT
    fails on the primary key, is rolled back to its savepoint, and the rows go again through
    `INSERT … ON CONFLICT`, which sorts out the late arrivals.
    """
    given = rows.subquery("given")
    if existing_found is None:
        existing = find_existing(conn, given.c.imei, existing_into)
    else:  # the caller has filled `existing_into` already (`find_existing`)
        existing = existing_found
    if existing:
        conn.execute(
            update(imeis)
            .where(imeis.c.imei == given.c.imei)
            .values({name: given.c[name] for name in update_existing})
        )
    new_rows = select(given)
    if existing:
        new_rows = new_rows.where(~exists().where(existing_into.c.imei == given.c.imei))
    try:
        with conn.begin_nested():
            return UpsertCounts(
                insert_new_with_status(
                    conn, new_rows, now=now, rules=rules, source=source, in_imei_order=in_imei_order
                ),
                existing,
            )
    except IntegrityError:
        pass  # an IMEI inserted by a concurrent transaction: see the docstring
    late = _upsert(
        conn,
        new_rows,
        update_existing=update_existing,
        existing_into=existing_into,
        now=now,
        rules=rules,
        source=source,
    )
    return UpsertCounts(late.list_changes, existing + late.existing)


def find_existing(conn: Connection, imei: ColumnElement[Any], existing_into: Table) -> int:
    """Write to `existing_into` the IMEIs of `imei`'s rows that are in `imeis`; how many."""
    return int(
        conn.execute(
            insert(existing_into).from_select(
                ["imei"],
                select(imei).where(exists().where(imeis.c.imei == imei)),
            ),
            execution_options=COUNT_ROWS,
        ).rowcount
    )


def _with_status(
    rows: Select[tuple[object, ...]], now: datetime, rules: Rules, *, in_imei_order: bool = False
) -> tuple[list[str], Select[tuple[object, ...]]]:
    """The columns of `imeis` to insert, and the rows with their status, in IMEI order.

    `in_imei_order`: `rows` come in IMEI order already (a staging table written sorted), so
    no sort is asked for.
    """
    given = rows.subquery("given_rows")
    facts_columns = (*FLAG_COLUMNS, *TIME_COLUMNS, "invalid_reason")
    facts = select(
        given.c.imei,
        given.c.device_id,
        *(given.c[name] if name in given.c else _no_fact(name) for name in facts_columns),
    ).subquery("facts")
    status = status_sql(facts, now, rules, "postgresql")  # type: ignore[arg-type]
    columns = ["imei", "device_id", *facts_columns, "list", "reasons", "grace_deadline"]
    chosen = select(
        facts.c.imei,
        facts.c.device_id,
        *(facts.c[name] for name in facts_columns),
        status.list,
        status.reasons,
        status.grace_deadline,
        literal(now, UtcDateTime),
    )
    if not in_imei_order:
        chosen = chosen.order_by(facts.c.imei.collate("C"))
    return [*columns, "list_since"], chosen


def _history(upserted: Any, now: datetime, source: str) -> Any:
    """The history rows (from `unknown`) of newly inserted IMEIs, as a CTE of their ids.

    An IMEI that a load leaves unknown and unseen has not changed list: no row for it.
    """
    untouched = and_(
        upserted.c.list == ListName.UNKNOWN.value, upserted.c.reasons == Reason.NOT_SEEN.value
    )
    changed = not_(untouched)
    if "inserted" in upserted.c:
        changed = and_(upserted.c.inserted, changed)
    return (
        insert(status_changes)
        .from_select(
            ["imei", "from_list", "to_list", "reasons", "source", "detail", "changed_at"],
            select(
                upserted.c.imei,
                literal(ListName.UNKNOWN.value, String),
                upserted.c.list,
                upserted.c.reasons,
                literal(source, String),
                null(),
                literal(now, UtcDateTime),
            ).where(changed),
        )
        .returning(status_changes.c.id)
        .cte("recorded")
    )


def insert_new_with_status(
    conn: Connection,
    rows: Select[tuple[object, ...]],
    *,
    now: datetime,
    rules: Rules,
    source: str,
    skip_existing: bool = False,
    in_imei_order: bool = False,
) -> int:
    """INSERT of IMEIs believed new, with their status and history; returns the history rows.

    `rows` as for `upsert_imeis_with_status`. Without `skip_existing` an IMEI another
    transaction inserted meanwhile is a unique violation (callers hold a savepoint for that
    case); with it, that IMEI is left to the other transaction (ON CONFLICT DO NOTHING).
    """
    columns, values = _with_status(rows, now, rules, in_imei_order=in_imei_order)
    inserted = (
        pg_insert(imeis)
        .from_select(columns, values)
        .returning(imeis.c.imei, imeis.c.list, imeis.c.reasons)
    )
    if skip_existing:
        inserted = inserted.on_conflict_do_nothing(index_elements=["imei"])
    recorded = _history(inserted.cte("inserted"), now, source)
    return int(conn.execute(select(func.count()).select_from(recorded)).scalar_one())


def _upsert(
    conn: Connection,
    rows: Select[tuple[object, ...]],
    *,
    update_existing: Sequence[str],
    existing_into: Table,
    now: datetime,
    rules: Rules,
    source: str,
) -> UpsertCounts:
    """`INSERT … ON CONFLICT DO UPDATE`: safe whatever other transactions insert meanwhile."""
    columns, values = _with_status(rows, now, rules)
    excluded = pg_insert(imeis).excluded
    upserted = (
        pg_insert(imeis)
        .from_select(columns, values)
        .on_conflict_do_update(
            index_elements=["imei"], set_={name: excluded[name] for name in update_existing}
        )
        .returning(
            imeis.c.imei,
            imeis.c.list,
            imeis.c.reasons,
            literal_column("imeis.xmax = 0", Boolean).label("inserted"),
        )
        .cte("upserted")
    )
    recorded = _history(upserted, now, source)
    kept = (
        insert(existing_into)
        .from_select(["imei"], select(upserted.c.imei).where(not_(upserted.c.inserted)))
        .returning(existing_into.c.imei)
        .cte("kept")
    )
    counts = select(
        select(func.count()).select_from(recorded).scalar_subquery(),
        select(func.count()).select_from(kept).scalar_subquery(),
    )
    changes, existing = conn.execute(counts).one()
    return UpsertCounts(int(changes), int(existing))
