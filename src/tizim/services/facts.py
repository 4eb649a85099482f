"""Recording facts about IMEIs, the only way their lists change.

A fact is appended to `imei_facts` (the evidence), folded into the IMEI's fact summary, and the
IMEI's list is refreshed from the summary in the same transaction, with its history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, select, update

from tizim.domain.imei import authenticity_reason, read_imei
from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.storage.queries import (
    earliest,
    insert_ignoring_conflicts,
    known_tacs,
    latest,
    tac_database_loaded,
)
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import imei_facts, imeis, sightings


class FactKind(StrEnum):
    TRUSTED_REGISTRATION = "TRUSTED_REGISTRATION"
    TRUSTED_REGISTRATION_WITHDRAWN = "TRUSTED_REGISTRATION_WITHDRAWN"
    VERIFICATION_APPROVED = "VERIFICATION_APPROVED"
    PAIRING_APPROVED = "PAIRING_APPROVED"
    GSMA_BLACKLIST_ADD = "GSMA_BLACKLIST_ADD"
    GSMA_BLACKLIST_REMOVE = "GSMA_BLACKLIST_REMOVE"
    STOLEN_REPORTED = "STOLEN_REPORTED"
    STOLEN_RECOVERED = "STOLEN_RECOVERED"
    RETIRED_BY_REPAIR = "RETIRED_BY_REPAIR"
    CLONE_SUSPECTED = "CLONE_SUSPECTED"
    CLONE_CLEARED = "CLONE_CLEARED"


def _summary_change(kind: FactKind, occurred_at: datetime) -> dict[str, Any]:
    """How a fact of this kind changes the IMEI's fact summary."""
    return {
        FactKind.TRUSTED_REGISTRATION: {"trusted_source": True},
        FactKind.TRUSTED_REGISTRATION_WITHDRAWN: {"trusted_source": False},
        FactKind.VERIFICATION_APPROVED: {"verified": True},
        FactKind.PAIRING_APPROVED: {"paired": True},
        FactKind.GSMA_BLACKLIST_ADD: {"gsma_blacklisted": True},
        FactKind.GSMA_BLACKLIST_REMOVE: {"gsma_blacklisted": False},
        FactKind.STOLEN_REPORTED: {"reported_stolen": True},
        FactKind.STOLEN_RECOVERED: {"reported_stolen": False},
        FactKind.RETIRED_BY_REPAIR: {"retired_at": occurred_at},
        FactKind.CLONE_SUSPECTED: {"clone_suspected": True},
        FactKind.CLONE_CLEARED: {"clone_suspected": False},
    }[kind]


@dataclass(frozen=True)
class Fact:
    imei: str
    kind: FactKind
    source: str
    occurred_at: datetime
    reference: str | None = None


def ensure_imeis(
    conn: Connection, imei_list: Iterable[str], *, now: datetime, rules: Rules
) -> None:
    """Create rows for IMEIs the registry has not met yet, with their authenticity verdict."""
    wanted = set(imei_list)
    if wanted:
        wanted -= set(conn.execute(select(imeis.c.imei).where(imeis.c.imei.in_(wanted))).scalars())
    if not wanted:
        return
    tac_loaded = tac_database_loaded(conn)
    tacs_found = known_tacs(conn, (imei[:8] for imei in wanted)) if tac_loaded else set()
    rows = []
    for imei in wanted:
        reading = read_imei(imei, rules.reserved_tac_prefixes)
        tac_known = (imei[:8] in tacs_found) if tac_loaded else None
        reason = authenticity_reason(reading, tac_known)
        rows.append(
            {
                "imei": imei,
                "invalid_reason": reason.value if reason else None,
                "list": ListName.UNKNOWN.value,
                "reasons": Reason.NOT_SEEN.value,
                "list_since": now,
            }
        )
    insert_ignoring_conflicts(conn, imeis, rows)


def record_facts(
    conn: Connection, facts: Sequence[Fact], *, now: datetime, rules: Rules, source: str
) -> int:
    """Append facts, fold them into the summaries and refresh the lists; returns list changes."""
    if not facts:
        return 0
    ensure_imeis(conn, (fact.imei for fact in facts), now=now, rules=rules)
    conn.execute(
        imei_facts.insert(),
        [
            {
                "imei": fact.imei,
                "kind": fact.kind.value,
                "source": fact.source,
                "reference": fact.reference,
                "occurred_at": fact.occurred_at,
                "recorded_at": now,
            }
            for fact in facts
        ],
    )
    # Consecutive facts with the same effect share one UPDATE; the order of effects is kept.
    changes = [(fact.imei, _summary_change(fact.kind, fact.occurred_at)) for fact in facts]
    for _, run in groupby(changes, key=lambda change: sorted(change[1].items())):
        batch = list(run)
        conn.execute(
            update(imeis).where(imeis.c.imei.in_({imei for imei, _ in batch})).values(**batch[0][1])
        )
    touched = sorted({fact.imei for fact in facts})
    return refresh_statuses(conn, imeis.c.imei.in_(touched), now=now, rules=rules, source=source)


def record_sighting(
    conn: Connection,
    *,
    imei: str,
    operator: str,
    imsi: str,
    msisdn: str,
    seen_at: datetime,
    now: datetime,
    rules: Rules,
) -> int:
    """One network sighting of one IMEI (the bulk path for operator files is `ingest`)."""
    ensure_imeis(conn, [imei], now=now, rules=rules)
    conn.execute(
        update(imeis)
        .where(imeis.c.imei == imei)
        .values(
            first_seen_at=earliest(conn, imeis.c.first_seen_at, seen_at),
            last_seen_at=latest(conn, imeis.c.last_seen_at, seen_at),
        )
    )
    key = (
        sightings.c.imei == imei,
        sightings.c.operator == operator,
        sightings.c.imsi == imsi,
        sightings.c.msisdn == msisdn,
    )
    known = conn.execute(
        update(sightings)
        .where(*key)
        .values(
            first_seen_at=earliest(conn, sightings.c.first_seen_at, seen_at),
            last_seen_at=latest(conn, sightings.c.last_seen_at, seen_at),
        )
    ).rowcount
    if not known:
        conn.execute(
            sightings.insert().values(
                imei=imei,
                operator=operator,
                imsi=imsi,
                msisdn=msisdn,
                first_seen_at=seen_at,
                last_seen_at=seen_at,
            )
        )
    return refresh_statuses(
        conn, imeis.c.imei == imei, now=now, rules=rules, source=f"sighting:{operator}"
    )
