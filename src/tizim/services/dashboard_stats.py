"""Numbers for the statistics dashboard: list sizes over time, blocks, applications, fees.

Every series is per local (Asia/Almaty) day over a window ending today, computed with grouped
SQL so that it stays cheap on 50 million IMEIs: the window's status changes and applications
are grouped by day in the database, never loaded row by row.

List sizes over time are derived backwards from today's sizes: the size at the end of day d
is today's size minus the net changes (arrivals − departures) recorded after d.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Date, cast, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.services.stats import RegistryStats, registry_stats
from tizim.storage.schema import status_changes
from tizim.storage.tables_applications import applications, payments
from tizim.storage.types import UtcDateTime

LISTS = (ListName.WHITE.value, ListName.GREY.value, ListName.BLACK.value)


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    days: list[date]
    current: RegistryStats
    list_sizes: dict[str, list[int]]
    """list → IMEIs on it at the end of each day of `days`."""
    blocked_per_day: list[int]
    submitted_per_day: list[int]
    approved_per_day: list[int]
    refused_per_day: list[int]
    refusal_reasons: list[tuple[str, int]]
    """Reason code → refusals in the window, most frequent first."""
    fees_per_day: list[int]
    fees_total: int


def dashboard(conn: Connection, *, now: datetime, rules: Rules, days: int = 14) -> Dashboard:
    today = rules.local_date(now)
    window = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    since = rules.local_midnight(window[0])
    current = registry_stats(conn, now=now, rules=rules)
    list_sizes = _list_sizes(conn, current, window, since, now, rules)
    blocked = _per_day(
        conn,
        status_changes.c.changed_at,
        since,
        now,
        rules,
        status_changes.c.to_list == ListName.BLACK.value,
        (status_changes.c.from_list.is_(None)) | (status_changes.c.from_list != "black"),
    )
    submitted = _per_day(conn, applications.c.submitted_at, since, now, rules)
    approved = _per_day(
        conn, applications.c.decided_at, since, now, rules, applications.c.status == "approved"
    )
    refused = _per_day(
        conn, applications.c.decided_at, since, now, rules, applications.c.status == "refused"
    )
    fees = _per_day(conn, payments.c.paid_at, since, now, rules, total=payments.c.amount_kzt)
    fees_total = conn.execute(select(func.coalesce(func.sum(payments.c.amount_kzt), 0))).scalar()
    return Dashboard(
        now=now,
        days=window,
        current=current,
        list_sizes=list_sizes,
        blocked_per_day=[blocked.get(day, 0) for day in window],
        submitted_per_day=[submitted.get(day, 0) for day in window],
        approved_per_day=[approved.get(day, 0) for day in window],
        refused_per_day=[refused.get(day, 0) for day in window],
        refusal_reasons=_refusal_reasons(conn, since, now),
        fees_per_day=[fees.get(day, 0) for day in window],
        fees_total=int(fees_total or 0),
    )


def _local_day(conn: Connection, column: Any, rules: Rules, now: datetime) -> ColumnElement[Any]:
    """The Almaty calendar day of a stored time, computed in the database."""
    if conn.dialect.name == "postgresql":
        return cast(func.timezone(rules.timezone, column), Date)
    # SQLite stores naive UTC text and has no time zones: shift by the zone's offset now
    # (Kazakhstan has a single fixed offset, UTC+5, since March 2024).
    offset = now.astimezone(rules.zone).utcoffset() or timedelta()
    return func.date(column, f"{int(offset.total_seconds())} seconds")


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _per_day(
    conn: Connection,
    column: Any,
    since: datetime,
    now: datetime,
    rules: Rules,
    *conditions: Any,
    total: Any = None,
) -> dict[date, int]:
    day = _local_day(conn, column, rules, now).label("day")
    measure = func.coalesce(func.sum(total), 0) if total is not None else func.count()
    query = (
        select(day, measure)
        .where(column >= literal(since, UtcDateTime), column <= literal(now, UtcDateTime))
        .where(*conditions)
        .group_by(day)
    )
    return {_as_date(found): int(value) for found, value in conn.execute(query)}


def _list_sizes(
    conn: Connection,
    current: RegistryStats,
    window: list[date],
    since: datetime,
    now: datetime,
    rules: Rules,
) -> dict[str, list[int]]:
    net: dict[tuple[str, date], int] = Counter()
    for column, sign in ((status_changes.c.to_list, 1), (status_changes.c.from_list, -1)):
        day = _local_day(conn, status_changes.c.changed_at, rules, now).label("day")
        for name, found, count in conn.execute(
            select(column, day, func.count())
            .where(
                status_changes.c.changed_at >= literal(since, UtcDateTime),
                status_changes.c.changed_at <= literal(now, UtcDateTime),
                column.is_not(None),
            )
            .group_by(column, day)
        ):
            net[(name, _as_date(found))] += sign * count
    sizes: dict[str, list[int]] = {}
    for name in LISTS:
        size = current.lists[ListName(name)].imeis
        series = []
        for day in reversed(window):
            series.append(size)
            size -= net.get((name, day), 0)
        sizes[name] = series[::-1]
    return sizes


def _refusal_reasons(conn: Connection, since: datetime, now: datetime) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for (failures,) in conn.execute(
        select(applications.c.failures).where(
            applications.c.status == "refused",
            applications.c.decided_at >= literal(since, UtcDateTime),
            applications.c.decided_at <= literal(now, UtcDateTime),
        )
    ):
        for failure in json.loads(failures or "[]"):
            counts[str(failure.get("code"))] += 1
    return counts.most_common()
