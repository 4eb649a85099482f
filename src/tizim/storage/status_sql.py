"""The list rule of `tizim.domain.status.list_status`, as SQL, for set-based updates.

PostgreSQL sweeps and bulk merges cannot call Python per row, so the same precedence is written
here once more; `tests/storage/test_status_sql.py` checks both versions agree on random facts
on both databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    String,
    Table,
    case,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.storage.db import SQLITE_GRACE_DEADLINE_FUNCTION
from tizim.storage.types import UtcDateTime


@dataclass(frozen=True)
class StatusColumns:
    list: ColumnElement[str]
    reasons: ColumnElement[str]
    grace_deadline: ColumnElement[datetime]


def grace_deadline_sql(
    first_seen: ColumnElement[datetime], rules: Rules, dialect: str
) -> ColumnElement[datetime]:
    if dialect != "postgresql":
        return type_coerce(getattr(func, SQLITE_GRACE_DEADLINE_FUNCTION)(first_seen), UtcDateTime)
    local_day = cast(func.timezone(rules.timezone, first_seen), Date)
    by_grace = local_day + literal(rules.grace_days, Integer)
    day = func.greatest(by_grace, literal(rules.enforcement_start, Date))
    return type_coerce(func.timezone(rules.timezone, cast(day, DateTime)), UtcDateTime)


def _code(reason: Reason) -> ColumnElement[str]:
    return literal(reason.value, String)


def _codes(*pairs: tuple[ColumnElement[bool], Reason]) -> ColumnElement[str]:
    """Comma-joined codes of the conditions that hold, in the given order."""
    joined: ColumnElement[str] = literal("", String)
    for condition, reason in pairs:
        joined = joined + case((condition, literal(reason.value + ",", String)), else_="")
    return func.rtrim(joined, ",")


def status_sql(imeis: Table, now: datetime, rules: Rules, dialect: str) -> StatusColumns:
    c = imeis.c
    deadline = grace_deadline_sql(c.first_seen_at, rules, dialect)
    grandfathered = c.first_seen_at < literal(
        rules.local_midnight(rules.grandfather_before), UtcDateTime
    )
    clone_blocks = c.clone_suspected if rules.clone_blocks else false()
    clone_suffix = case(
        (c.clone_suspected, literal("," + Reason.CLONE_SUSPECTED, String)), else_=""
    )
    blacklisted = or_(c.gsma_blacklisted, c.reported_stolen, clone_blocks)
    whitelisted = or_(c.trusted_source, c.verified, c.paired, grandfathered)
    seen_after_retirement = c.last_seen_at > c.retired_at
    in_grace = literal(now, UtcDateTime) < deadline

    list_expr = case(
        (c.invalid_reason.is_not(None), ListName.BLACK.value),
        (blacklisted, ListName.BLACK.value),
        (
            c.retired_at.is_not(None),
            case((seen_after_retirement, ListName.BLACK.value), else_=ListName.UNKNOWN.value),
        ),
        (whitelisted, ListName.WHITE.value),
        (c.first_seen_at.is_(None), ListName.UNKNOWN.value),
        (in_grace, ListName.GREY.value),
        else_=ListName.BLACK.value,
    )
    reasons_expr = case(
        (c.invalid_reason.is_not(None), c.invalid_reason + clone_suffix),
        (
            blacklisted,
            _codes(
                (c.gsma_blacklisted, Reason.GSMA_BLACKLISTED),
                (c.reported_stolen, Reason.REPORTED_STOLEN),
                (c.clone_suspected, Reason.CLONE_SUSPECTED),
            ),
        ),
        (
            c.retired_at.is_not(None),
            case(
                (seen_after_retirement, _code(Reason.RETIRED_IMEI) + clone_suffix),
                else_=_code(Reason.RETIRED_IMEI),
            ),
        ),
        (
            whitelisted,
            _codes(
                (c.trusted_source, Reason.TRUSTED_SOURCE),
                (c.verified, Reason.VERIFIED),
                (c.paired, Reason.PAIRED),
                (grandfathered, Reason.GRANDFATHERED),
                (c.clone_suspected, Reason.CLONE_SUSPECTED),
            ),
        ),
        (c.first_seen_at.is_(None), _code(Reason.NOT_SEEN)),
        (in_grace, _code(Reason.GRACE_PERIOD) + clone_suffix),
        else_=_code(Reason.GRACE_EXPIRED) + clone_suffix,
    )
    deadline_expr = case(
        (
            or_(
                c.invalid_reason.is_not(None),
                blacklisted,
                c.retired_at.is_not(None),
                whitelisted,
                c.first_seen_at.is_(None),
            ),
            type_coerce(null(), UtcDateTime),
        ),
        else_=deadline,
    )
    return StatusColumns(list_expr, reasons_expr, type_coerce(deadline_expr, UtcDateTime))
