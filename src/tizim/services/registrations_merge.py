"""The set-based half of a trusted-registration load: staged rows → registry, in a few statements.

Staged IMEI rows arrive with their device ids (drawn by `draw_device_ids` on PostgreSQL, the
numbers after the current maximum on SQLite), and the devices' brand and model in a staging
table of their own. Conflicts (IMEIs another organisation registered) are recorded for staff
and, like IMEIs this organisation registered before, taken out of the staging table; the
devices that still have IMEIs are created. On PostgreSQL new IMEIs are then inserted white at
once with their history row (`tizim.storage.bulk_status`: the status comes from the one SQL
rule, `status_sql`), and only IMEIs that existed before go through `refresh_statuses`; SQLite
inserts them as unknown and refreshes all staged IMEIs. Last come the registration records,
which are also the TRUSTED_REGISTRATION facts (`history` reads them as such).
On PostgreSQL a large file arrives in chunks (see `registrations_pipeline`), each sorted by
IMEI: every insert below then fills its b-tree indexes in order. Each chunk is merged whole by
these statements, and the staging tables are cleared for the next one.
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

from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.storage.bulk_status import find_existing, upsert_imeis_with_status
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import devices, imeis
from tizim.storage.staging import staging_table
from tizim.storage.tables_orgs import registration_conflicts, registrations
from tizim.storage.types import UtcDateTime

MERGE_WORK_MEM = "256MB"
COUNT_ROWS = {"preserve_rowcount": True}  # SQLAlchemy forgets an INSERT's rowcount otherwise


@dataclass(frozen=True)
class RegistrationStaging:
    imeis: Table
    devices: Table
    imei_columns = ("imei", "device_id", "device_ref", "document", "registered_on")
    device_columns = ("device_id", "brand", "model")


@contextmanager
def registration_staging(conn: Connection) -> Iterator[RegistrationStaging]:
    with (
        staging_table(
            conn,
            "stage_registration_imeis",
            Column("imei", String(15)),
            Column("device_id", BigInteger),
            Column("device_ref", String(100)),
            Column("document", String(200)),
            Column("registered_on", UtcDateTime),
        ) as staged_imeis,
        staging_table(
            conn,
            "stage_registration_devices",
            Column("device_id", BigInteger),
            Column("brand", String(100)),
            Column("model", String(200)),
        ) as staged_devices,
    ):
        yield RegistrationStaging(staged_imeis, staged_devices)


def draw_device_ids(conn: Connection, count: int) -> list[int]:
    """`count` new ids from the devices' sequence, ascending (PostgreSQL).

    Drawn before the devices exist, so that the staged rows carry them and no pass in SQL
    numbers the devices; a device whose IMEIs all turn out to be known leaves a gap.
    """
    sequence = conn.execute(text("SELECT pg_get_serial_sequence('devices', 'id')")).scalar_one()
    return list(
        conn.execute(
            select(func.nextval(literal(sequence, String))).select_from(
                func.generate_series(1, count)
            )
        ).scalars()
    )


def next_device_id(conn: Connection) -> int:
    """SQLite: the id after the current maximum (one writer at a time holds the database)."""
    return int(conn.execute(select(func.coalesce(func.max(devices.c.id), 0))).scalar_one()) + 1


def merge_registrations(
    conn: Connection,
    staging: RegistrationStaging,
    *,
    organisation: str,
    upload_id: int,
    now: datetime,
    rules: Rules,
    first_chunk: bool = True,
) -> dict[str, int]:
    """Apply the staged devices; returns the counts for the report.

    The settings and the staging tables' statistics are taken once per file (`first_chunk`):
    later chunks of the same file look alike, and TRUNCATE keeps the statistics.
    """
    staged, staged_devices = staging.imeis, staging.devices
    if conn.dialect.name == "postgresql" and first_chunk:
        # Sorting and hashing a million staged rows in the default 4 MB spills to disk. The
        # merge's time goes to inserts and index upkeep, which JIT compilation cannot speed
        # up: compiling its big expressions would only add to it. Both end with the transaction.
        conn.execute(text(f"SET LOCAL work_mem = '{MERGE_WORK_MEM}'"))
        conn.execute(text("SET LOCAL jit = off"))
        _analyze(conn, staged, staged_devices)
    if conn.dialect.name == "postgresql":
        conflicts, already, created, changed = _merge_devices_postgres(
            conn, staging, organisation=organisation, upload_id=upload_id, now=now, rules=rules
        )
    else:
        conflicts, already = _set_aside_known_imeis(conn, staged, organisation, upload_id, now)
        created = _create_devices(conn, staging, now, some_set_aside=bool(conflicts + already))
        changed = _upsert_imeis_then_refresh(
            conn, staged, now=now, rules=rules, source=f"registration:{organisation}"
        )
    # `staged` is read in the order it was written, IMEI order on PostgreSQL: the b-tree
    # inserts below walk their indexes page after page (speed only; order is not meaning).
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
                staged.c.imei,
                literal(organisation),
                staged.c.device_ref,
                staged.c.document,
                staged.c.registered_on,
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


def _merge_devices_postgres(
    conn: Connection,
    staging: RegistrationStaging,
    *,
    organisation: str,
    upload_id: int,
    now: datetime,
    rules: Rules,
) -> tuple[int, int, int, int]:
    """Conflicts, IMEIs already registered, devices created and list changes of a chunk.

    The staged IMEIs `imeis` already holds are looked up once, first. Every registered IMEI
    has an `imeis` row, so a chunk of IMEIs never seen before (a first load: nearly all of
    them) needs no look into `registrations` at all.
    """
    staged = staging.imeis
    with staging_table(conn, "stage_registration_existing", Column("imei", String(15))) as known:
        found = find_existing(conn, staged.c.imei, known)
        conflicts = already = 0
        if found:
            conflicts, already = _set_aside_known_imeis(conn, staged, organisation, upload_id, now)
        if conflicts + already:  # those left the staged rows: keep only the IMEIs still there
            found -= conn.execute(
                delete(known).where(~exists().where(staged.c.imei == known.c.imei))
            ).rowcount
        created = _create_devices(conn, staging, now, some_set_aside=bool(conflicts + already))
        changed = _upsert_imeis_postgres(
            conn, staged, known, found, now=now, rules=rules, source=f"registration:{organisation}"
        )
    return conflicts, already, created, changed


def _upsert_imeis_postgres(
    conn: Connection,
    staged: Table,
    existing: Table,
    existing_found: int,
    *,
    now: datetime,
    rules: Rules,
    source: str,
) -> int:
    """New IMEIs are inserted white at once (with history); existing ones are refreshed.

    `existing` holds the staged IMEIs already in `imeis` (`existing_found` of them).
    """
    rows = select(staged.c.imei, staged.c.device_id, true().label("trusted_source"))
    counts = upsert_imeis_with_status(
        conn,
        rows,
        update_existing=("device_id", "trusted_source"),
        existing_into=existing,
        now=now,
        rules=rules,
        source=source,
        existing_found=existing_found,
        in_imei_order=True,  # staged in IMEI order (`registrations._stage_chunk`)
    )
    if not counts.existing:
        return counts.list_changes
    _analyze(conn, existing)
    return counts.list_changes + refresh_statuses(
        conn, imeis.c.imei.in_(select(existing.c.imei)), now=now, rules=rules, source=source
    )


def _upsert_imeis_then_refresh(
    conn: Connection, staged: Table, *, now: datetime, rules: Rules, source: str
) -> int:
    """SQLite (small files): insert new IMEIs as unknown, then one refresh over the staged set."""
    conn.execute(
        update(imeis)
        .where(imeis.c.imei == staged.c.imei)
        .values(device_id=staged.c.device_id, trusted_source=True)
    )
    conn.execute(
        insert(imeis).from_select(
            ["imei", "device_id", "trusted_source", "list", "reasons", "list_since"],
            select(
                staged.c.imei,
                staged.c.device_id,
                true(),
                literal(ListName.UNKNOWN.value),
                literal(Reason.NOT_SEEN.value),
                literal(now, UtcDateTime),
            ).where(~exists().where(imeis.c.imei == staged.c.imei)),
        )
    )
    return refresh_statuses(
        conn, imeis.c.imei.in_(select(staged.c.imei)), now=now, rules=rules, source=source
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


def _create_devices(
    conn: Connection, staging: RegistrationStaging, now: datetime, *, some_set_aside: bool
) -> int:
    """One new device per staged device that still has IMEIs after the known ones left."""
    staged_devices = staging.devices
    chosen = select(
        staged_devices.c.device_id,
        staged_devices.c.brand,
        staged_devices.c.model,
        literal(now, UtcDateTime),
    )
    if some_set_aside:
        chosen = chosen.where(staged_devices.c.device_id.in_(select(staging.imeis.c.device_id)))
    return conn.execute(
        insert(devices).from_select(["id", "brand", "model", "created_at"], chosen),
        execution_options=COUNT_ROWS,
    ).rowcount


def clear_staging(conn: Connection, staging: RegistrationStaging) -> None:
    """Empty the staging tables for the next chunk of the same file."""
    tables = (staging.imeis, staging.devices)
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"TRUNCATE {', '.join(table.name for table in tables)}"))
    else:
        for table in tables:
            conn.execute(delete(table))
