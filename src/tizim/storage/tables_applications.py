"""Owner applications (verification, second-IMEI pairing), their history and payments, and the
reference copies of the state registries the proofs are checked against (issue 5).

Personal data (IIN, signature, certificate) lives only here; it is never copied into logs,
list files or the IMEI history (whose `detail` names the application number only).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from tizim.storage.schema import metadata
from tizim.storage.types import BigId, UtcDateTime

applications = Table(
    "applications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("number", String(20), nullable=False),
    Column("kind", String(16), nullable=False),  # verification | pairing
    Column("status", String(20), nullable=False),
    Column("applicant_iin", String(12), nullable=False),
    Column("provider", String(64)),  # the verification provider that accepted it
    Column("proof_kind", String(16)),
    Column("proof_reference", String(100)),
    Column("entry_date", Date),
    Column("device_imei", String(15)),  # pairing: the white IMEI of the owner's device
    Column("language", String(2), nullable=False),
    Column("body", Text, nullable=False),  # the canonical JSON the applicant signed
    Column("signature", Text, nullable=False),
    Column("certificate", Text, nullable=False),
    Column("fee_kzt", Integer, nullable=False),
    Column("resubmission_of", BigId),
    Column("failures", Text),  # JSON [{code, field, params}] of the refusal
    Column("device_id", BigId),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime),
    Column("decided_by", String(100)),
    UniqueConstraint("number"),
    Index("ix_applications_applicant_iin", "applicant_iin"),
    Index("ix_applications_status_submitted_at", "status", "submitted_at"),
    Index("ix_applications_resubmission_of", "resubmission_of"),
)

application_imeis = Table(
    "application_imeis",
    metadata,
    Column("application_id", BigId, primary_key=True),
    Column("position", SmallInteger, primary_key=True),
    Column("imei", String(15), nullable=False),
    Index("ix_application_imeis_imei", "imei"),
)

application_events = Table(
    "application_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("application_id", BigId, nullable=False),
    Column("status", String(20), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("note", Text),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_application_events_application_id", "application_id"),
)

application_numbers = Table(
    "application_numbers",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last_value", BigId, nullable=False),
)

payments = Table(
    "payments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("reference", String(64), nullable=False),
    Column("application_id", BigId, nullable=False),
    Column("amount_kzt", Integer, nullable=False),
    Column("gateway", String(64), nullable=False),
    Column("paid_at", UtcDateTime, nullable=False),
    UniqueConstraint("reference"),
    Index("ix_payments_application_id", "application_id"),
)

customs_declarations = Table(
    "customs_declarations",
    metadata,
    Column("declaration_number", String(64), primary_key=True),
    Column("imei", String(15), primary_key=True),
    Column("declarant_iin", String(12), nullable=False),
    Column("declared_on", Date, nullable=False),
    Column("upload_id", BigId),
)

border_crossings = Table(
    "border_crossings",
    metadata,
    Column("iin", String(12), primary_key=True),
    Column("crossed_at", UtcDateTime, primary_key=True),
    Column("direction", String(8), primary_key=True),
    Column("checkpoint", String(100), nullable=False),
    Column("upload_id", BigId),
)

parcels = Table(
    "parcels",
    metadata,
    Column("tracking_number", String(64), primary_key=True),
    Column("recipient_iin", String(12), nullable=False),
    Column("delivered_on", Date),
    Column("description", Text, nullable=False),
    Column("upload_id", BigId),
)

state_registry_status = Table(
    "state_registry_status",
    metadata,
    Column("registry", String(16), primary_key=True),  # customs | border | parcels
    Column("available", Boolean, nullable=False, server_default=false()),
    Column("note", Text),
    Column("changed_at", UtcDateTime, nullable=False),
)
"""A row with available=false marks a registry as down: the reference adapters then answer
`StateRegistryUnavailable`, exactly as a real adapter does on an outage. No row = available."""
