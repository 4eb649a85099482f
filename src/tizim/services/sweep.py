"""The sweep: every time-driven transition (grace expired → black), set-based and idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, literal

from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import imeis
from tizim.storage.types import UtcDateTime


@dataclass(frozen=True)
class SweepResult:
    now: datetime
    changed: int


def sweep(conn: Connection, *, now: datetime, rules: Rules) -> SweepResult:
    """Move every grey IMEI whose deadline has passed to the list its facts give now.

    The final re-check the rules demand is the refresh itself: each candidate's list is
    recomputed from its current facts in the same statement that blocks it, so an IMEI whose
    import was proven since it became grey goes white instead of black.
    """
    due = and_(
        imeis.c.list == ListName.GREY.value,
        imeis.c.grace_deadline <= literal(now, UtcDateTime),
    )
    changed = refresh_statuses(conn, due, now=now, rules=rules, source="sweep")
    return SweepResult(now, changed)
