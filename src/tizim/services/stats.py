"""`stats`: list sizes (IMEIs and devices), blocked today, grey IMEIs by deadline week."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, case, func, literal, or_, select

from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.storage.schema import imeis, status_changes
from tizim.storage.types import UtcDateTime


@dataclass(frozen=True)
class ListCount:
    imeis: int
    devices: int


@dataclass(frozen=True)
class RegistryStats:
    now: datetime
    lists: dict[ListName, ListCount]
    blocked_today: int
    grace_by_week: dict[date, int] = field(default_factory=dict)
    """Monday of the local week of the deadline → grey IMEIs whose grace ends that week."""


def registry_stats(conn: Connection, *, now: datetime, rules: Rules) -> RegistryStats:
    no_device = func.sum(case((imeis.c.device_id.is_(None), 1), else_=0))
    per_list = {
        ListName(row.list): ListCount(row.imeis, int(row.devices or 0))
        for row in conn.execute(
            select(
                imeis.c.list,
                func.count().label("imeis"),
                (func.count(imeis.c.device_id.distinct()) + no_device).label("devices"),
            ).group_by(imeis.c.list)
        )
    }
    lists = {name: per_list.get(name, ListCount(0, 0)) for name in ListName}
    today = rules.local_midnight(rules.local_date(now))
    blocked_today = conn.execute(
        select(func.count())
        .select_from(status_changes)
        .where(
            status_changes.c.to_list == ListName.BLACK.value,
            or_(status_changes.c.from_list.is_(None), status_changes.c.from_list != "black"),
            status_changes.c.changed_at >= literal(today, UtcDateTime),
            status_changes.c.changed_at <= literal(now, UtcDateTime),
        )
    ).scalar_one()
    by_week: Counter[date] = Counter()
    # Deadlines are local midnights, so there are only as many distinct values as grace days.
    for deadline, count in conn.execute(
        select(imeis.c.grace_deadline, func.count())
        .where(imeis.c.list == ListName.GREY.value)
        .group_by(imeis.c.grace_deadline)
    ):
        local_day = rules.local_date(deadline)
        by_week[local_day - timedelta(days=local_day.weekday())] += count
    return RegistryStats(now, lists, blocked_today, dict(sorted(by_week.items())))
