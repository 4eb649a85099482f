"""The core tables: IMEIs with their fact summary and materialised list, facts, history.

Each feature adds its own tables in its own module under `tizim.storage.tables_*`, on the
same `metadata`.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    text,
)

from tizim.storage.types import BigId, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

tacs = Table(
    "tacs",
    metadata,
    Column("tac", String(8), primary_key=True),
    Column("brand", String(100), nullable=False),
    Column("model", String(200), nullable=False),
    Column("device_type", String(50), nullable=False),
    Column("sim_slots", SmallInteger, nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("brand", String(100)),
    Column("model", String(200)),
    Column("created_at", UtcDateTime, nullable=False),
)

imeis = Table(
    "imeis",
    metadata,
    Column("imei", String(15), primary_key=True),
    # A devices.id, not declared as a foreign key: see migration 0006 (bulk registration speed).
    Column("device_id", BigId, nullable=True),
    # The fact summary: what list_status() reads. Kept in step with imei_facts by the services.
    Column("invalid_reason", String(32)),
    Column("first_seen_at", UtcDateTime),
    Column("last_seen_at", UtcDateTime),
    Column("trusted_source", Boolean, nullable=False, server_default=false()),
    Column("verified", Boolean, nullable=False, server_default=false()),
    Column("paired", Boolean, nullable=False, server_default=false()),
    Column("gsma_blacklisted", Boolean, nullable=False, server_default=false()),
    Column("reported_stolen", Boolean, nullable=False, server_default=false()),
    Column("clone_suspected", Boolean, nullable=False, server_default=false()),
    Column("retired_at", UtcDateTime),
    # The materialised status: derived, for fast reads; every change is in status_changes.
    Column("list", String(8), nullable=False),
    Column("reasons", String(200), nullable=False),
    Column("grace_deadline", UtcDateTime),
    Column("list_since", UtcDateTime, nullable=False),
    Index("ix_imeis_list_grace_deadline", "list", "grace_deadline"),
    # Partial: most IMEIs are observed, not registered, and have no device (migration 0007,
    # which also leaves free space in the pages of imeis and sightings for HOT updates).
    Index(
        "ix_imeis_device_id",
        "device_id",
        postgresql_where=text("device_id IS NOT NULL"),
        sqlite_where=text("device_id IS NOT NULL"),
    ),
)

imei_facts = Table(
    "imei_facts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("imei", String(15), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("source", String(100), nullable=False),
    Column("reference", String(200)),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_imei_facts_imei", "imei"),
)

status_changes = Table(
    "status_changes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("imei", String(15), nullable=False),
    Column("from_list", String(8)),
    Column("to_list", String(8), nullable=False),
    Column("reasons", String(200), nullable=False),
    Column("source", String(100), nullable=False),
    Column("detail", Text),
    Column("changed_at", UtcDateTime, nullable=False),
    Index("ix_status_changes_imei", "imei"),
    # BRIN on PostgreSQL (migration 0007): append-only, and changed_at grows with the rows.
    Index("ix_status_changes_changed_at", "changed_at", postgresql_using="brin"),
)

sightings = Table(
    "sightings",
    metadata,
    Column("imei", String(15), primary_key=True),
    Column("operator", String(32), primary_key=True),
    Column("imsi", String(15), primary_key=True),
    Column("msisdn", String(15), primary_key=True),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("rat", String(8)),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("organisation", String(64)),
    Column("file_name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("rows_total", BigId, nullable=False),
    Column("rows_accepted", BigId, nullable=False),
    Column("rows_rejected", BigId, nullable=False),
    Column("report", Text, nullable=False),
    Column("uploaded_by", String(100)),
    Column("uploaded_at", UtcDateTime, nullable=False),
    Index("ix_uploads_kind_sha256", "kind", "sha256"),
)

# Feature tables live in their own modules on the same `metadata`; importing them here makes
# `metadata` complete wherever the schema is used (migration checks, test clean-up).
# One name per module in the import below, which stays at the very end of this file:
from tizim.storage import (  # noqa: E402, F401
    tables_applications,
    tables_operator,
    tables_orgs,
    tables_portal,
)
