"""Reference state registries: the customs, border and postal data loaded into our own tables
(`tizim feeds load customs|border|parcels`), behind the same Protocols a live connection to
the state systems would implement (`tizim.adapters.state_registries`).

An outage is data, not a code path: a row in `state_registry_status` with available=false
makes the adapter raise `StateRegistryUnavailable`, just as a real adapter does on a timeout,
so staff can rehearse the queue and tests exercise it without special branches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, select

from tizim.adapters.state_registries import (
    BorderCrossing,
    BorderRegistry,
    CustomsDeclaration,
    CustomsRegistry,
    ParcelDelivery,
    PostalRegistry,
    StateRegistryUnavailable,
)
from tizim.domain.rules import Rules
from tizim.storage.queries import insert_ignoring_conflicts
from tizim.storage.tables_applications import (
    border_crossings,
    customs_declarations,
    parcels,
    state_registry_status,
)

REGISTRIES = ("customs", "border", "parcels")


def set_registry_available(
    conn: Connection, registry: str, *, available: bool, now: datetime, note: str | None = None
) -> None:
    """Mark a reference registry up or down (staff rehearsals, outage simulation, tests)."""
    if registry not in REGISTRIES:
        raise ValueError(f"unknown state registry {registry!r}; one of {', '.join(REGISTRIES)}")
    insert_ignoring_conflicts(
        conn,
        state_registry_status,
        [{"registry": registry, "available": available, "note": note, "changed_at": now}],
    )
    conn.execute(
        state_registry_status.update()
        .where(state_registry_status.c.registry == registry)
        .values(available=available, note=note, changed_at=now)
    )


def _require_available(conn: Connection, registry: str) -> None:
    available = conn.execute(
        select(state_registry_status.c.available).where(
            state_registry_status.c.registry == registry
        )
    ).scalar()
    if available is False:
        raise StateRegistryUnavailable(f"the {registry} registry is unavailable")


class DbCustomsRegistry:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def declaration(self, declaration_number: str) -> CustomsDeclaration | None:
        _require_available(self.conn, "customs")
        rows = self.conn.execute(
            select(customs_declarations).where(
                customs_declarations.c.declaration_number == declaration_number.strip()
            )
        ).all()
        if not rows:
            return None
        return CustomsDeclaration(
            declaration_number=rows[0].declaration_number,
            declarant_iin=rows[0].declarant_iin,
            declared_on=rows[0].declared_on,
            imeis=frozenset(row.imei for row in rows),
        )


class DbBorderRegistry:
    def __init__(self, conn: Connection, rules: Rules) -> None:
        self.conn = conn
        self.rules = rules

    def crossings(self, iin: str, on: date) -> list[BorderCrossing]:
        _require_available(self.conn, "border")
        start = self.rules.local_midnight(on)
        end = self.rules.local_midnight(on + timedelta(days=1))
        rows = self.conn.execute(
            select(border_crossings)
            .where(
                border_crossings.c.iin == iin,
                border_crossings.c.crossed_at >= start,
                border_crossings.c.crossed_at < end,
            )
            .order_by(border_crossings.c.crossed_at)
        )
        return [
            BorderCrossing(row.iin, row.crossed_at, row.direction, row.checkpoint) for row in rows
        ]


class DbPostalRegistry:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def parcel(self, tracking_number: str) -> ParcelDelivery | None:
        _require_available(self.conn, "parcels")
        row = self.conn.execute(
            select(parcels).where(parcels.c.tracking_number == tracking_number.strip())
        ).first()
        if row is None:
            return None
        return ParcelDelivery(
            row.tracking_number, row.recipient_iin, row.delivered_on, row.description
        )


@dataclass(frozen=True)
class StateRegistries:
    customs: CustomsRegistry
    border: BorderRegistry
    postal: PostalRegistry


def reference_registries(conn: Connection, rules: Rules) -> StateRegistries:
    """The DB-backed registries; a deployment with live connections builds its own bundle."""
    return StateRegistries(
        DbCustomsRegistry(conn), DbBorderRegistry(conn, rules), DbPostalRegistry(conn)
    )
