"""Organisations, their API keys, trusted registrations, conflicts, repairs and police cases.

Issue 4. Every table here hangs on the shared `metadata`, so the migration check sees it.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text, UniqueConstraint

from tizim.storage.schema import metadata
from tizim.storage.types import BigId, UtcDateTime

organisations = Table(
    "organisations",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("role", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    # Operators' MCC-MNC codes, comma-separated ("40102,40177"): few, read with the org.
    Column("mcc_mncs", String(200), nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # The public part of the key (`tz_<public_id>_<secret>`): the lookup handle, not a secret.
    Column("public_id", String(32), nullable=False, unique=True),
    Column("organisation", String(64), nullable=False, index=True),
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)

# Who registered which IMEI, from which file: the trusted-source registry.
registrations = Table(
    "registrations",
    metadata,
    Column("imei", String(15), primary_key=True),
    Column("organisation", String(64), nullable=False),
    Column("device_ref", String(100), nullable=False),
    Column("document", String(200)),
    Column("registered_on", UtcDateTime),
    Column("upload_id", BigId),
    Column("recorded_at", UtcDateTime, nullable=False),
)

# An IMEI another organisation already registered: kept for registry staff, not overwritten.
# Staff close it (migration 0008): keep the existing registration or transfer it, saying why.
registration_conflicts = Table(
    "registration_conflicts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("imei", String(15), nullable=False, index=True),
    Column("organisation", String(64), nullable=False),
    Column("existing_organisation", String(64), nullable=False),
    Column("device_ref", String(100), nullable=False),
    Column("upload_id", BigId),
    Column("detected_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolution", String(16)),  # keep_existing | transfer
    Column("resolved_by", String(64)),
    Column("resolution_note", Text),
)

repairs = Table(
    "repairs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("old_imei", String(15), nullable=False),
    Column("new_imei", String(15), nullable=False, index=True),
    Column("organisation", String(64), nullable=False),
    Column("document", String(200)),
    Column("repaired_at", UtcDateTime, nullable=False),
    Column("upload_id", BigId),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("old_imei", "new_imei"),
)

# Police stolen reports: an IMEI is reported stolen while any of its cases is open.
police_cases = Table(
    "police_cases",
    metadata,
    Column("imei", String(15), primary_key=True),
    Column("case_number", String(100), primary_key=True),
    Column("organisation", String(64)),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("recovered_at", UtcDateTime),
    Index("ix_police_cases_case_number", "case_number"),
)

# The current GSMA blacklist entries (an IMEI is GSMA-blacklisted while it has a row here).
gsma_blacklist = Table(
    "gsma_blacklist",
    metadata,
    Column("imei", String(15), primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("loaded_at", UtcDateTime, nullable=False),
)
