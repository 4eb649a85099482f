"""Clone detection: one IMEI used by several devices at once ("one IMEI on several devices").

Two signs, both read from `sightings` (one row per IMEI–operator–IMSI–MSISDN with its first and
last sighting), counted within a window of days before `now`:
- more distinct IMSIs than a threshold (SIM swaps happen; dozens of SIMs in a month do not);
- the IMEI in use on two operators at the same time: sightings on different operators whose
  [first, last] intervals overlap strictly (moving a SIM from one network to another on the
  same instant is a swap, not a clone).
A suspect gets a `CLONE_SUSPECTED` fact, which sets the `clone_suspected` flag: informative on
the lists unless TIZIM_CLONE_BLOCKS is set (the status rule decides, not this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, distinct, func, select

from tizim.config import Settings
from tizim.domain.rules import Rules
from tizim.services.facts import Fact, FactKind, record_facts
from tizim.storage.schema import imei_facts, imeis, sightings

DETECTION_SOURCE = "clone-detection"


@dataclass(frozen=True)
class CloneRules:
    imsi_threshold: int = 3
    window_days: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> CloneRules:
        return cls(settings.clone_imsi_threshold, settings.clone_window_days)

    def window_start(self, now: datetime) -> datetime:
        return now - timedelta(days=self.window_days)


@dataclass(frozen=True)
class CloneSuspect:
    """A line of the staff report. No IMSI or MSISDN: counts and operators only."""

    imei: str
    list: str
    suspected_at: datetime | None
    why: str
    imsis_in_window: int
    operators: tuple[str, ...]


def detect_clones(
    conn: Connection,
    candidates: Any,
    *,
    now: datetime,
    rules: Rules,
    clone_rules: CloneRules,
    source: str = DETECTION_SOURCE,
) -> int:
    """Flag the IMEIs among `candidates` (a SELECT of imei) that look cloned; returns how many.

    IMEIs already suspected are left alone: the fact is recorded once, not on every upload.
    """
    since = clone_rules.window_start(now)
    found: dict[str, str] = {}
    recent = and_(sightings.c.imei.in_(candidates), sightings.c.last_seen_at >= since)
    imsi_count = func.count(distinct(sightings.c.imsi))
    for imei, count in conn.execute(
        select(sightings.c.imei, imsi_count)
        .where(recent)
        .group_by(sightings.c.imei)
        .having(imsi_count > clone_rules.imsi_threshold)
    ):
        found[imei] = f"{count} IMSIs within {clone_rules.window_days} days"
    first, second = sightings.alias("first"), sightings.alias("second")
    for imei, one, other in conn.execute(
        select(first.c.imei, first.c.operator, second.c.operator)
        .where(
            first.c.imei.in_(candidates),
            second.c.imei == first.c.imei,
            first.c.operator < second.c.operator,
            first.c.first_seen_at < second.c.last_seen_at,
            second.c.first_seen_at < first.c.last_seen_at,
            first.c.last_seen_at >= since,
            second.c.last_seen_at >= since,
        )
        .distinct()
    ):
        found.setdefault(imei, f"in use on {one} and {other} at the same time")
    if not found:
        return 0
    already = set(
        conn.execute(
            select(imeis.c.imei).where(imeis.c.imei.in_(sorted(found)), imeis.c.clone_suspected)
        ).scalars()
    )
    facts = [
        Fact(imei, FactKind.CLONE_SUSPECTED, source, now, reference=why[:200])
        for imei, why in sorted(found.items())
        if imei not in already
    ]
    record_facts(conn, facts, now=now, rules=rules, source=source)
    return len(facts)


def clone_report(
    conn: Connection, *, now: datetime, clone_rules: CloneRules, limit: int = 1000
) -> list[CloneSuspect]:
    """IMEIs currently suspected of being cloned, newest suspicion first, for registry staff."""
    since = clone_rules.window_start(now)
    latest_fact = (
        select(
            imei_facts.c.imei,
            func.max(imei_facts.c.id).label("fact_id"),
        )
        .where(imei_facts.c.kind == FactKind.CLONE_SUSPECTED.value)
        .group_by(imei_facts.c.imei)
        .subquery()
    )
    rows = conn.execute(
        select(
            imeis.c.imei,
            imeis.c.list,
            imei_facts.c.occurred_at,
            imei_facts.c.reference,
        )
        .select_from(imeis)
        .outerjoin(latest_fact, latest_fact.c.imei == imeis.c.imei)
        .outerjoin(imei_facts, imei_facts.c.id == latest_fact.c.fact_id)
        .where(imeis.c.clone_suspected)
        .order_by(imei_facts.c.id.desc().nulls_last(), imeis.c.imei)
        .limit(limit)
    ).all()
    usage: dict[str, tuple[int, tuple[str, ...]]] = {}
    wanted = [row.imei for row in rows]
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        for imei, count, operators in conn.execute(
            select(
                sightings.c.imei,
                func.count(distinct(sightings.c.imsi)),
                _joined_operators(conn),
            )
            .where(sightings.c.imei.in_(chunk), sightings.c.last_seen_at >= since)
            .group_by(sightings.c.imei)
        ):
            usage[imei] = (int(count), tuple(sorted(set((operators or "").split(",")) - {""})))
    return [
        CloneSuspect(
            imei=row.imei,
            list=row.list,
            suspected_at=row.occurred_at,
            why=row.reference or "",
            imsis_in_window=usage.get(row.imei, (0, ()))[0],
            operators=usage.get(row.imei, (0, ()))[1],
        )
        for row in rows
    ]


def _joined_operators(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return func.string_agg(distinct(sightings.c.operator), ",")
    return func.group_concat(distinct(sightings.c.operator))
