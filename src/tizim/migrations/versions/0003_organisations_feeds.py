"""Organisations, API keys, trusted registrations, conflicts, repairs, police cases, GSMA (issue 4).

Revision ID: 0003_organisations_feeds
Revises: 0002_operator_data
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_organisations_feeds"
down_revision = "0002_operator_data"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("code", sa.String(64)),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("mcc_mncs", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_organisations"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("public_id", sa.String(32), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("revoked_at", Moment),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("public_id", name="uq_api_keys_public_id"),
    )
    op.create_index("ix_api_keys_organisation", "api_keys", ["organisation"])
    op.create_table(
        "registrations",
        sa.Column("imei", sa.String(15)),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("device_ref", sa.String(100), nullable=False),
        sa.Column("document", sa.String(200)),
        sa.Column("registered_on", Moment),
        sa.Column("upload_id", BigId),
        sa.Column("recorded_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("imei", name="pk_registrations"),
    )
    op.create_index(
        "ix_registrations_organisation_device_ref",
        "registrations",
        ["organisation", "device_ref"],
    )
    op.create_table(
        "registration_conflicts",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("imei", sa.String(15), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("existing_organisation", sa.String(64), nullable=False),
        sa.Column("device_ref", sa.String(100), nullable=False),
        sa.Column("upload_id", BigId),
        sa.Column("detected_at", Moment, nullable=False),
        sa.Column("resolved_at", Moment),
        sa.PrimaryKeyConstraint("id", name="pk_registration_conflicts"),
    )
    op.create_index("ix_registration_conflicts_imei", "registration_conflicts", ["imei"])
    op.create_table(
        "repairs",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("old_imei", sa.String(15), nullable=False),
        sa.Column("new_imei", sa.String(15), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("document", sa.String(200)),
        sa.Column("repaired_at", Moment, nullable=False),
        sa.Column("upload_id", BigId),
        sa.Column("recorded_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_repairs"),
        sa.UniqueConstraint("old_imei", "new_imei", name="uq_repairs_old_imei_new_imei"),
    )
    op.create_index("ix_repairs_new_imei", "repairs", ["new_imei"])
    op.create_table(
        "police_cases",
        sa.Column("imei", sa.String(15)),
        sa.Column("case_number", sa.String(100)),
        sa.Column("organisation", sa.String(64)),
        sa.Column("reported_at", Moment, nullable=False),
        sa.Column("recovered_at", Moment),
        sa.PrimaryKeyConstraint("imei", "case_number", name="pk_police_cases"),
    )
    op.create_index("ix_police_cases_case_number", "police_cases", ["case_number"])
    op.create_table(
        "gsma_blacklist",
        sa.Column("imei", sa.String(15)),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("reported_at", Moment, nullable=False),
        sa.Column("loaded_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("imei", name="pk_gsma_blacklist"),
    )


def downgrade() -> None:
    for table in (
        "gsma_blacklist",
        "police_cases",
        "repairs",
        "registration_conflicts",
        "registrations",
        "api_keys",
        "organisations",
    ):
        op.drop_table(table)
