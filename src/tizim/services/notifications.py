"""Whom an operator must send an SMS today: the notification list of grey IMEIs.

Kinds, counted in Almaty calendar days from the first sighting of the IMEI (any operator):
- `first_notice` on the day of the first sighting;
- `reminder` on each configured day after it (TIZIM_NOTIFICATION_REMINDER_DAYS, e.g. 10, 20);
- `final_warning` on the day before the deadline (the day the IMEI goes black).
A generation covers the days since the previous one (at most `MAX_CATCH_UP_DAYS`), so a notice
due on a day without a generation is sent with the next one; each subscriber–IMEI gets at most
one message per generation, the most recent kind due.
Only subscribers of the operator get its list: the home network of the IMSI (its MCC-MNC, read
with python-stdnum's `imsi` module) must be one of the operator's codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, and_, false, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement
from stdnum import imsi as imsi_numbers
from stdnum.exceptions import ValidationError

from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.services.orgs import Organisation
from tizim.storage.schema import imeis, sightings
from tizim.storage.types import UtcDateTime

MAX_CATCH_UP_DAYS = 7


class NotificationKind(StrEnum):
    FIRST_NOTICE = "first_notice"
    REMINDER = "reminder"
    FINAL_WARNING = "final_warning"


@dataclass(frozen=True)
class NotificationPlan:
    reminder_days: tuple[int, ...] = (10, 20)

    def kind_on(self, day: date, first_seen: date, deadline: date) -> NotificationKind | None:
        """The message due on `day` for an IMEI first seen and cut off on those days."""
        if day == deadline - timedelta(days=1):
            return NotificationKind.FINAL_WARNING
        offset = (day - first_seen).days
        if offset == 0:
            return NotificationKind.FIRST_NOTICE
        if offset in self.reminder_days:
            return NotificationKind.REMINDER
        return None

    def latest_due(
        self, days: tuple[date, ...], first_seen: date, deadline: date
    ) -> NotificationKind | None:
        """The most recent kind due on any of `days` (newest first)."""
        for day in sorted(days, reverse=True):
            kind = self.kind_on(day, first_seen, deadline)
            if kind is not None:
                return kind
        return None


@dataclass(frozen=True)
class Notification:
    msisdn: str
    imei: str
    deadline: datetime
    deadline_date: date
    kind: NotificationKind


def days_covered(now: datetime, previous: datetime | None, rules: Rules) -> tuple[date, ...]:
    """The Almaty days a generation at `now` covers: those after the previous one, up to today."""
    today = rules.local_date(now)
    start = today if previous is None else rules.local_date(previous) + timedelta(days=1)
    start = max(start, today - timedelta(days=MAX_CATCH_UP_DAYS - 1))
    count = max((today - start).days + 1, 1)
    return tuple(today - timedelta(days=back) for back in range(count))


def operator_notifications(
    conn: Connection,
    operator: Organisation,
    *,
    days: tuple[date, ...],
    rules: Rules,
    plan: NotificationPlan,
) -> Iterator[Notification]:
    """The notifications of one operator's subscribers, ordered by MSISDN then IMEI."""
    query = (
        select(sightings.c.msisdn, imeis.c.imei, imeis.c.first_seen_at, imeis.c.grace_deadline)
        .select_from(imeis.join(sightings, sightings.c.imei == imeis.c.imei))
        .where(
            imeis.c.list == ListName.GREY.value,
            imeis.c.grace_deadline.is_not(None),
            _due_on_some_day(days, rules, plan),
            _subscribers_of(operator),
        )
        .add_columns(sightings.c.imsi)
        .order_by(sightings.c.msisdn, imeis.c.imei)
    )
    previous: tuple[str, str] | None = None
    for msisdn, imei, first_seen, deadline, imsi in conn.execute(query):
        if (msisdn, imei) == previous or not _is_home(imsi, operator):
            continue
        previous = (msisdn, imei)
        deadline_day = rules.local_date(deadline)
        kind = plan.latest_due(days, rules.local_date(first_seen), deadline_day)
        if kind is not None:
            yield Notification(msisdn, imei, deadline.astimezone(UTC), deadline_day, kind)


def _due_on_some_day(
    days: tuple[date, ...], rules: Rules, plan: NotificationPlan
) -> ColumnElement[bool]:
    """A cheap SQL pre-filter: first sighting or deadline falls on a day that makes a kind due."""
    conditions: list[ColumnElement[bool]] = []
    for day in days:
        for offset in (0, *plan.reminder_days):
            conditions.append(_on_day(imeis.c.first_seen_at, day - timedelta(days=offset), rules))
        conditions.append(_on_day(imeis.c.grace_deadline, day + timedelta(days=1), rules))
    return or_(*conditions) if conditions else false()


def _on_day(column: ColumnElement[datetime], day: date, rules: Rules) -> ColumnElement[bool]:
    start = rules.local_midnight(day)
    end = rules.local_midnight(day + timedelta(days=1))
    return and_(column >= literal(start, UtcDateTime), column < literal(end, UtcDateTime))


def _subscribers_of(operator: Organisation) -> ColumnElement[bool]:
    """SQL pre-filter by IMSI prefix; without registered codes, what the operator itself saw."""
    if not operator.mcc_mncs:
        return sightings.c.operator == operator.code
    return or_(*(sightings.c.imsi.startswith(code) for code in operator.mcc_mncs))


def _is_home(imsi: str, operator: Organisation) -> bool:
    """Exact home-network test: the MNC may have 2 or 3 digits, which only the MCC tells."""
    if not operator.mcc_mncs:
        return True
    try:
        mcc, mnc, _ = imsi_numbers.split(imsi)
    except (ValidationError, ValueError):
        return imsi.startswith(operator.mcc_mncs)
    return f"{mcc}{mnc}" in operator.mcc_mncs
