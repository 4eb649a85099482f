"""The set-based half of a trusted-registration load: staged rows → registry, in a few statements.

Order matters: conflicts (IMEIs another organisation registered) are recorded for staff and,
like IMEIs this organisation registered before, taken out of the staging table; the rest get
new devices, their IMEI rows and flags, the TRUSTED_REGISTRATION facts, registration records,
and finally one `refresh_statuses` over exactly the staged IMEIs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    SmallInteger,
    String,
    Table,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    true,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.services.facts import FactKind
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import devices, imei_facts, imeis
from tizim.storage.staging import staging_table
from tizim.storage.tables_orgs import registration_conflicts, registrations
from tizim.storage.types import UtcDateTime


@dataclass(frozen=True)
class RegistrationStaging:
    imeis: Table
    devices: Table
    # One COPY stream per connection at a time: the device's brand and model ride on the row
    # of its first IMEI (slot 1), and the device table is filled from those rows in SQL.
    imei_columns = (
        "imei",
        "device_seq",
        "slot",
        "device_ref",
        "brand",
        "model",
        "document",
        "registered_on",
        "line",
    )


@contextmanager
def registration_staging(conn: Connection) -> Iterator[RegistrationStaging]:
    with (
        staging_table(
            conn,
            "stage_registration_imeis",
            Column("imei", String(15)),
            Column("device_seq", BigInteger),
            Column("slot", SmallInteger),
            Column("device_ref", String(100)),
            Column("brand", String(100)),
            Column("model", String(200)),
            Column("document", String(200)),
            Column("registered_on", UtcDateTime),
            Column("line", BigInteger),
        ) as staged_imeis,
        staging_table(
            conn,
            "stage_registration_devices",
            Column("device_seq", BigInteger),
            Column("brand", String(100)),
            Column("model", String(200)),
            Column("device_id", BigInteger),
        ) as staged_devices,
    ):
        yield RegistrationStaging(staged_imeis, staged_devices)


def merge_registrations(
    conn: Connection,
    staging: RegistrationStaging,
    *,
    organisation: str,
    upload_id: int,
    now: datetime,
    rules: Rules,
) -> dict[str, int]:
    """Apply the staged devices; returns the counts for the report."""
    staged, staged_devices = staging.imeis, staging.devices
    conn.execute(
        insert(staged_devices).from_select(
            ["device_seq", "brand", "model"],
            select(staged.c.device_seq, staged.c.brand, staged.c.model).where(staged.c.slot == 1),
        )
    )
    _analyze(conn, staged, staged_devices)
    conflicts, already = _set_aside_known_imeis(conn, staged, organisation, upload_id, now)
    created = _create_devices(conn, staged, staged_devices, now)
    conn.execute(
        update(imeis)
        .where(imeis.c.imei == staged.c.imei, staged_devices.c.device_seq == staged.c.device_seq)
        .values(device_id=staged_devices.c.device_id, trusted_source=True)
    )
    moment = literal(now, UtcDateTime)
    conn.execute(
        insert(imeis).from_select(
            ["imei", "device_id", "trusted_source", "list", "reasons", "list_since"],
            select(
                staged.c.imei,
                staged_devices.c.device_id,
                true(),
                literal(ListName.UNKNOWN.value),
                literal(Reason.NOT_SEEN.value),
                moment,
            )
            .join_from(staged, staged_devices, staged_devices.c.device_seq == staged.c.device_seq)
            .where(~exists().where(imeis.c.imei == staged.c.imei)),
        )
    )
    occurred = func.coalesce(staged.c.registered_on, moment)
    conn.execute(
        insert(imei_facts).from_select(
            ["imei", "kind", "source", "reference", "occurred_at", "recorded_at"],
            select(
                staged.c.imei,
                literal(FactKind.TRUSTED_REGISTRATION.value),
                literal(organisation),
                staged.c.document,
                occurred,
                moment,
            ),
        )
    )
    conn.execute(
        insert(registrations).from_select(
            [
                "imei",
                "organisation",
                "device_ref",
                "document",
                "registered_on",
                "upload_id",
                "recorded_at",
            ],
            select(
                staged.c.imei,
                literal(organisation),
                staged.c.device_ref,
                staged.c.document,
                staged.c.registered_on,
                literal(upload_id),
                moment,
            ),
        )
    )
    registered = conn.execute(select(func.count()).select_from(staged)).scalar_one()
    changed = refresh_statuses(
        conn,
        imeis.c.imei.in_(select(staged.c.imei)),
        now=now,
        rules=rules,
        source=f"registration:{organisation}",
    )
    return {
        "devices_created": created,
        "imeis_registered": registered,
        "imeis_already_registered": already,
        "conflicts": conflicts,
        "list_changes": changed,
    }


def _analyze(conn: Connection, *tables: Table) -> None:
    """Autovacuum never analyses temporary tables: without statistics the joins plan badly."""
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.execute(text(f"ANALYZE {table.name}"))


def _set_aside_known_imeis(
    conn: Connection, staged: Table, organisation: str, upload_id: int, now: datetime
) -> tuple[int, int]:
    """Record conflicts with other organisations; drop every already-registered IMEI.

    Returns (IMEIs registered by another organisation, IMEIs this one registered before).
    """
    known = select(staged.c.imei, staged.c.device_ref, registrations.c.organisation).join_from(
        staged, registrations, registrations.c.imei == staged.c.imei
    )
    other = known.where(registrations.c.organisation != organisation).subquery()
    conflicts = conn.execute(select(func.count()).select_from(other)).scalar_one()
    if conflicts:
        open_conflict = exists().where(
            registration_conflicts.c.imei == other.c.imei,
            registration_conflicts.c.organisation == organisation,
            registration_conflicts.c.resolved_at.is_(None),
        )
        conn.execute(
            insert(registration_conflicts).from_select(
                [
                    "imei",
                    "organisation",
                    "existing_organisation",
                    "device_ref",
                    "upload_id",
                    "detected_at",
                ],
                select(
                    other.c.imei,
                    literal(organisation),
                    other.c.organisation,
                    other.c.device_ref,
                    literal(upload_id),
                    literal(now, UtcDateTime),
                ).where(~open_conflict),
            )
        )
    removed = conn.execute(
        delete(staged).where(exists().where(registrations.c.imei == staged.c.imei))
    ).rowcount
    return conflicts, removed - conflicts


def _create_devices(conn: Connection, staged: Table, staged_devices: Table, now: datetime) -> int:
    """One new device per staged device that still has IMEIs; ids come from the sequence."""
    next_id: ColumnElement[int]
    if conn.dialect.name == "postgresql":
        next_id = literal_column("nextval(pg_get_serial_sequence('devices', 'id'))")
    else:  # SQLite has one writer at a time: the ids after the current maximum are free
        base = conn.execute(select(func.coalesce(func.max(devices.c.id), 0))).scalar_one()
        next_id = staged_devices.c.device_seq + base
    conn.execute(
        update(staged_devices)
        .where(staged_devices.c.device_seq.in_(select(staged.c.device_seq)))
        .values(device_id=next_id)
    )
    created = staged_devices.c.device_id.is_not(None)
    conn.execute(
        insert(devices).from_select(
            ["id", "brand", "model", "created_at"],
            select(
                staged_devices.c.device_id,
                staged_devices.c.brand,
                staged_devices.c.model,
                literal(now, UtcDateTime),
            ).where(created),
        )
    )
    return conn.execute(
        select(func.count()).select_from(staged_devices).where(created)
    ).scalar_one()
