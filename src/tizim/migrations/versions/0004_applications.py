"""Owner applications, payments, decisions (issue 5).

Revision ID: 0004_applications
Revises: 0003_organisations_feeds
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_applications"
down_revision = "0003_organisations_feeds"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("applicant_iin", sa.String(12), nullable=False),
        sa.Column("provider", sa.String(64)),
        sa.Column("proof_kind", sa.String(16)),
        sa.Column("proof_reference", sa.String(100)),
        sa.Column("entry_date", sa.Date),
        sa.Column("device_imei", sa.String(15)),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("certificate", sa.Text, nullable=False),
        sa.Column("fee_kzt", sa.Integer, nullable=False),
        sa.Column("resubmission_of", BigId),
        sa.Column("failures", sa.Text),
        sa.Column("device_id", BigId),
        sa.Column("submitted_at", Moment, nullable=False),
        sa.Column("decided_at", Moment),
        sa.Column("decided_by", sa.String(100)),
        sa.PrimaryKeyConstraint("id", name="pk_applications"),
        sa.UniqueConstraint("number", name="uq_applications_number"),
    )
    op.create_index("ix_applications_applicant_iin", "applications", ["applicant_iin"])
    op.create_index(
        "ix_applications_status_submitted_at", "applications", ["status", "submitted_at"]
    )
    op.create_index("ix_applications_resubmission_of", "applications", ["resubmission_of"])
    op.create_table(
        "application_imeis",
        sa.Column("application_id", BigId),
        sa.Column("position", sa.SmallInteger),
        sa.Column("imei", sa.String(15), nullable=False),
        sa.PrimaryKeyConstraint("application_id", "position", name="pk_application_imeis"),
    )
    op.create_index("ix_application_imeis_imei", "application_imeis", ["imei"])
    op.create_table(
        "application_events",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("application_id", BigId, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_application_events"),
    )
    op.create_index(
        "ix_application_events_application_id", "application_events", ["application_id"]
    )
    op.create_table(
        "application_numbers",
        sa.Column("year", sa.Integer, autoincrement=False),
        sa.Column("last_value", BigId, nullable=False),
        sa.PrimaryKeyConstraint("year", name="pk_application_numbers"),
    )
    op.create_table(
        "payments",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("application_id", BigId, nullable=False),
        sa.Column("amount_kzt", sa.Integer, nullable=False),
        sa.Column("gateway", sa.String(64), nullable=False),
        sa.Column("paid_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        sa.UniqueConstraint("reference", name="uq_payments_reference"),
    )
    op.create_index("ix_payments_application_id", "payments", ["application_id"])
    op.create_table(
        "customs_declarations",
        sa.Column("declaration_number", sa.String(64)),
        sa.Column("imei", sa.String(15)),
        sa.Column("declarant_iin", sa.String(12), nullable=False),
        sa.Column("declared_on", sa.Date, nullable=False),
        sa.Column("upload_id", BigId),
        sa.PrimaryKeyConstraint("declaration_number", "imei", name="pk_customs_declarations"),
    )
    op.create_table(
        "border_crossings",
        sa.Column("iin", sa.String(12)),
        sa.Column("crossed_at", Moment),
        sa.Column("direction", sa.String(8)),
        sa.Column("checkpoint", sa.String(100), nullable=False),
        sa.Column("upload_id", BigId),
        sa.PrimaryKeyConstraint("iin", "crossed_at", "direction", name="pk_border_crossings"),
    )
    op.create_table(
        "parcels",
        sa.Column("tracking_number", sa.String(64)),
        sa.Column("recipient_iin", sa.String(12), nullable=False),
        sa.Column("delivered_on", sa.Date),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("upload_id", BigId),
        sa.PrimaryKeyConstraint("tracking_number", name="pk_parcels"),
    )
    op.create_table(
        "state_registry_status",
        sa.Column("registry", sa.String(16)),
        sa.Column("available", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("note", sa.Text),
        sa.Column("changed_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("registry", name="pk_state_registry_status"),
    )


def downgrade() -> None:
    for table in (
        "state_registry_status",
        "parcels",
        "border_crossings",
        "customs_declarations",
        "payments",
        "application_numbers",
        "application_events",
        "application_imeis",
        "applications",
    ):
        op.drop_table(table)
