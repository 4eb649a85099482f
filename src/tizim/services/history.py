"""`history`: every list change of an IMEI and the facts recorded about it, in time order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from tizim.domain.reasons import Reason, split_reasons
from tizim.services.facts import FactKind
from tizim.storage.schema import imei_facts, status_changes
from tizim.storage.tables_orgs import registrations


@dataclass(frozen=True)
class ListChange:
    changed_at: datetime
    from_list: str | None
    to_list: str
    reasons: tuple[Reason, ...]
    source: str
    detail: str | None


@dataclass(frozen=True)
class RecordedFact:
    occurred_at: datetime
    recorded_at: datetime
    kind: str
    source: str
    reference: str | None


@dataclass(frozen=True)
class ImeiHistory:
    imei: str
    changes: list[ListChange]
    facts: list[RecordedFact]


def imei_history(conn: Connection, imei: str) -> ImeiHistory:
    changes = [
        ListChange(
            r.changed_at, r.from_list, r.to_list, split_reasons(r.reasons), r.source, r.detail
        )
        for r in conn.execute(
            select(status_changes)
            .where(status_changes.c.imei == imei)
            .order_by(status_changes.c.changed_at, status_changes.c.id)
        )
    ]
    facts = [
        RecordedFact(r.occurred_at, r.recorded_at, r.kind, r.source, r.reference)
        for r in conn.execute(
            select(imei_facts)
            .where(imei_facts.c.imei == imei)
            .order_by(imei_facts.c.recorded_at, imei_facts.c.id)
        )
    ]
    # A trusted registration's fact is its registration row (bulk loads write it once).
    facts += [
        RecordedFact(
            r.registered_on or r.recorded_at,
            r.recorded_at,
            FactKind.TRUSTED_REGISTRATION.value,
            r.organisation,
            r.document,
        )
        for r in conn.execute(select(registrations).where(registrations.c.imei == imei))
    ]
    facts.sort(key=lambda fact: fact.recorded_at)  # stable: facts' own order kept on ties
    return ImeiHistory(imei, changes, facts)
