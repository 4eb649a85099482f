"""Bulk loads on PostgreSQL: new IMEIs are inserted with their list already computed.

`refresh_statuses` is the one way a list *changes*; a bulk load that inserted each new IMEI as
`unknown` and then refreshed it would write every new row twice (insert, then update with a
new tuple and new index entries). Here a new IMEI's list, reasons and grace deadline come from
the same rule, `status_sql`, applied to the facts the load brings, and its history row (from
`unknown`, as a refresh would write it) is appended by the same statement. IMEIs that already
existed only get the load's new facts; their ids are collected so the caller refreshes exactly
those with `refresh_statuses`.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    false,
    func,
    insert,
    literal,
    literal_column,
    not_,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
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
    on_existing: Mapping[str, ColumnElement[Any]],
    existing_into: Table,
    now: datetime,
    rules: Rules,
    source: str,
) -> UpsertCounts:
    """Insert the IMEIs of `rows` with their status, update those that exist; returns counts.

    `rows` selects `imei` and any fact columns of `imeis` (`trusted_source`, `first_seen_at`…)
    plus `device_id`; absent fact columns mean "no such fact". An IMEI already in `imeis`
    (before, or inserted meanwhile by a concurrent transaction) gets `on_existing` (values
    over `excluded`) and its id is written to `existing_into` (a table with an `imei` column):
    the caller then calls `refresh_statuses` for those. Rows are inserted in IMEI order, so
    the b-tree indexes on `imei` are filled page after page instead of at random.
    """
    given = rows.subquery("given")
    facts_columns = (*FLAG_COLUMNS, *TIME_COLUMNS, "invalid_reason")
    facts = select(
        given.c.imei,
        given.c.device_id,
        *(given.c[name] if name in given.c else _no_fact(name) for name in facts_columns),
    ).subquery("facts")
    status = status_sql(facts, now, rules, "postgresql")  # type: ignore[arg-type]
    moment = literal(now, UtcDateTime)
    upsert = pg_insert(imeis).from_select(
        ["imei", "device_id", *facts_columns, "list", "reasons", "grace_deadline", "list_since"],
        select(
            facts.c.imei,
            facts.c.device_id,
            *(facts.c[name] for name in facts_columns),
            status.list,
            status.reasons,
            status.grace_deadline,
            moment,
        ).order_by(facts.c.imei.collate("C")),
    )
    upserted = (
        upsert.on_conflict_do_update(index_elements=["imei"], set_=dict(on_existing))
        .returning(
            imeis.c.imei,
            imeis.c.list,
            imeis.c.reasons,
            literal_column("imeis.xmax = 0", Boolean).label("inserted"),
        )
        .cte("upserted")
    )
    untouched = and_(
        upserted.c.list == ListName.UNKNOWN.value, upserted.c.reasons == Reason.NOT_SEEN.value
    )
    recorded = (
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
                moment,
            ).where(upserted.c.inserted, not_(untouched)),
        )
        .returning(status_changes.c.id)
        .cte("recorded")
    )
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
