"""The set-based half of a trusted-registration load: staged rows → registry, in a few statements.

Order matters: devices are numbered; conflicts (IMEIs another organisation registered) are
recorded for staff and, like IMEIs this organisation registered before, taken out of the
staging table; the rest get new devices, and are joined to their device ids and sorted once
by IMEI (`ready`). On PostgreSQL new IMEIs are then inserted white at once with their history
row (`tizim.storage.bulk_status`: the status comes from the one SQL rule, `status_sql`), and
only IMEIs that existed before go through `refresh_statuses`; SQLite inserts them as unknown
and refreshes all staged IMEIs. Last come the registration records, which are also the
TRUSTED_REGISTRATION facts (`history` reads them as such).
On PostgreSQL a large file arrives in chunks (see `registrations_pipeline`); each chunk is
merged whole by these statements, and the staging tables are cleared for the next one.
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
    select,
    text,
    true,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.storage.bulk_status import upsert_imeis_with_status
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import devices, imeis
from tizim.storage.staging import staging_table
from tizim.storage.tables_orgs import registration_conflicts, registrations
from tizim.storage.types import UtcDateTime

MERGE_WORK_MEM = "256MB"
COUNT_ROWS = {"preserve_rowcount": True}  # SQLAlchemy forgets an INSERT's rowcount otherwise


def in_index_order(conn: Connection, column: ColumnElement[str]) -> ColumnElement[str]:
    """Sort key for inserting IMEIs in b-tree order (fewer random page touches).

    On PostgreSQL the "C" collation orders equal-length digit strings exactly as the index
    does, and sorts several times faster than the database's locale collation.
    """
    return column.collate("C") if conn.dialect.name == "postgresql" else column


@dataclass(frozen=True)
class RegistrationStaging:
    imeis: Table
    devices: Table
    ready: Table  # the IMEIs to register, with their device ids, in IMEI order
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
        staging_table(
            conn,
            "stage_registration_ready",
            Column("imei", String(15)),
            Column("device_id", BigInteger),
            Column("device_ref", String(100)),
            Column("document", String(200)),
            Column("registered_on", UtcDateTime),
        ) as ready,
    ):
        yield RegistrationStaging(staged_imeis, staged_devices, ready)


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
    if conn.dialect.name == "postgresql":
        # Sorting and hashing a million staged rows in the default 4 MB spills to disk. The
        # merge's time goes to inserts and index upkeep, which JIT compilation cannot speed
        # up: compiling its big expressions would only add to it. Both end with the transaction.
        conn.execute(text(f"SET LOCAL work_mem = '{MERGE_WORK_MEM}'"))
        conn.execute(text("SET LOCAL jit = off"))
    _number_devices(conn, staged, staged_devices)
    _analyze(conn, staged, staged_devices)
    conflicts, already = _set_aside_known_imeis(conn, staged, organisation, upload_id, now)
    created = _create_devices(
        conn, staged, staged_devices, now, some_set_aside=bool(conflicts + already)
    )
    ready = _sort_ready_rows(conn, staging)
    source = f"registration:{organisation}"
    if conn.dialect.name == "postgresql":
        changed = _upsert_imeis_postgres(conn, ready, now=now, rules=rules, source=source)
    else:
        changed = _upsert_imeis_then_refresh(conn, ready, now=now, rules=rules, source=source)
    # `ready` is read in the order it was written, IMEI order: the b-tree inserts below walk
    # their indexes page after page without sorting again (speed only; order is not meaning).
    # The registration row is also the TRUSTED_REGISTRATION fact (`history` reads it as one):
    # writing it to `imei_facts` too would cost a fifth of the load for the same information.
    moment = literal(now, UtcDateTime)
    registered = conn.execute(
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
                ready.c.imei,
                literal(organisation),
                ready.c.device_ref,
                ready.c.document,
                ready.c.registered_on,
                literal(upload_id),
                moment,
            ),
        ),
        execution_options=COUNT_ROWS,
    ).rowcount
    return {
        "devices_created": created,
        "imeis_registered": registered,
        "imeis_already_registered": already,
        "conflicts": conflicts,
        "list_changes": changed,
    }


def _sort_ready_rows(conn: Connection, staging: RegistrationStaging) -> Table:
    """The staged IMEIs left after conflicts, joined to their device ids, sorted once."""
    staged, staged_devices, ready = staging.imeis, staging.devices, staging.ready
    conn.execute(
        insert(ready).from_select(
            ["imei", "device_id", "device_ref", "document", "registered_on"],
            select(
                staged.c.imei,
                staged_devices.c.device_id,
                staged.c.device_ref,
                staged.c.document,
                staged.c.registered_on,
            )
            .join_from(staged, staged_devices, staged_devices.c.device_seq == staged.c.device_seq)
            .order_by(in_index_order(conn, staged.c.imei)),
        )
    )
    return ready  # not analysed: only scanned, and probed by its size, which the planner reads


def _upsert_imeis_postgres(
    conn: Connection, ready: Table, *, now: datetime, rules: Rules, source: str
) -> int:
    """New IMEIs are inserted white at once (with history); existing ones are refreshed."""
    rows = select(ready.c.imei, ready.c.device_id, true().label("trusted_source"))
    with staging_table(conn, "stage_registration_existing", Column("imei", String(15))) as existing:
        counts = upsert_imeis_with_status(
            conn,
            rows,
            update_existing=("device_id", "trusted_source"),
            existing_into=existing,
            now=now,
            rules=rules,
            source=source,
        )
        if not counts.existing:
            return counts.list_changes
        _analyze(conn, existing)
        return counts.list_changes + refresh_statuses(
            conn, imeis.c.imei.in_(select(existing.c.imei)), now=now, rules=rules, source=source
        )


def _upsert_imeis_then_refresh(
    conn: Connection, ready: Table, *, now: datetime, rules: Rules, source: str
) -> int:
    """SQLite (small files): insert new IMEIs as unknown, then one refresh over the staged set."""
    conn.execute(
        update(imeis)
        .where(imeis.c.imei == ready.c.imei)
        .values(device_id=ready.c.device_id, trusted_source=True)
    )
    conn.execute(
        insert(imeis).from_select(
            ["imei", "device_id", "trusted_source", "list", "reasons", "list_since"],
            select(
                ready.c.imei,
                ready.c.device_id,
                true(),
                literal(ListName.UNKNOWN.value),
                literal(Reason.NOT_SEEN.value),
                literal(now, UtcDateTime),
            ).where(~exists().where(imeis.c.imei == ready.c.imei)),
        )
    )
    return refresh_statuses(
        conn, imeis.c.imei.in_(select(ready.c.imei)), now=now, rules=rules, source=source
    )


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


def _number_devices(conn: Connection, staged: Table, staged_devices: Table) -> None:
    """One row per staged device (its brand and model ride on slot 1) with its future id.

    Ids are drawn as the rows are written — `nextval` per row inside one INSERT … SELECT on
    PostgreSQL, the numbers after the current maximum on SQLite (one writer at a time) — so
    no second pass over the devices is needed. A device whose IMEIs all turn out to be known
    leaves a gap in the sequence, which is harmless.

    On PostgreSQL the ids follow the order of the devices' first IMEIs (`nextval` is evaluated
    after the sort). IMEIs are inserted in IMEI order, so their `device_id` index entries then
    walk the devices in order instead of jumping around the index.
    """
    next_id: ColumnElement[int]
    if conn.dialect.name == "postgresql":
        # Resolved once: `pg_get_serial_sequence` per row costs more than `nextval` itself.
        sequence = conn.execute(text("SELECT pg_get_serial_sequence('devices', 'id')")).scalar_one()
        next_id = func.nextval(literal(sequence, String))
    else:
        base = conn.execute(select(func.coalesce(func.max(devices.c.id), 0))).scalar_one()
        next_id = staged.c.device_seq + base
    conn.execute(
        insert(staged_devices).from_select(
            ["device_seq", "brand", "model", "device_id"],
            select(staged.c.device_seq, staged.c.brand, staged.c.model, next_id)
            .where(staged.c.slot == 1)
            .order_by(in_index_order(conn, staged.c.imei)),
        )
    )


def _create_devices(
    conn: Connection, staged: Table, staged_devices: Table, now: datetime, *, some_set_aside: bool
) -> int:
    """One new device per staged device that still has IMEIs after the known ones left."""
    chosen = select(
        staged_devices.c.device_id,
        staged_devices.c.brand,
        staged_devices.c.model,
        literal(now, UtcDateTime),
    )
    if some_set_aside:
        chosen = chosen.where(staged_devices.c.device_seq.in_(select(staged.c.device_seq)))
    return conn.execute(
        insert(devices).from_select(["id", "brand", "model", "created_at"], chosen),
        execution_options=COUNT_ROWS,
    ).rowcount


def clear_staging(conn: Connection, staging: RegistrationStaging) -> None:
    """Empty the staging tables for the next chunk of the same file."""
    tables = (staging.imeis, staging.devices, staging.ready)
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"TRUNCATE {', '.join(table.name for table in tables)}"))
    else:
        for table in tables:
            conn.execute(delete(table))
