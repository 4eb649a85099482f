"""Core registry: TACs, devices, IMEIs with fact summary and list, facts, history, sightings.

Revision ID: 0001_core
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tacs",
        sa.Column("tac", sa.String(8), primary_key=True),
        sa.Column("brand", sa.String(100), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("device_type", sa.String(50), nullable=False),
        sa.Column("sim_slots", sa.SmallInteger, nullable=False),
        sa.PrimaryKeyConstraint("tac", name="pk_tacs"),
    )
    op.create_table(
        "devices",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("brand", sa.String(100)),
        sa.Column("model", sa.String(200)),
        sa.Column("created_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
    )
    op.create_table(
        "imeis",
        sa.Column("imei", sa.String(15)),
        sa.Column("device_id", BigId, nullable=True),
        sa.Column("invalid_reason", sa.String(32)),
        sa.Column("first_seen_at", Moment),
        sa.Column("last_seen_at", Moment),
        *(
            sa.Column(flag, sa.Boolean, nullable=False, server_default=sa.false())
            for flag in (
                "trusted_source",
                "verified",
                "paired",
                "gsma_blacklisted",
                "reported_stolen",
                "clone_suspected",
            )
        ),
        sa.Column("retired_at", Moment),
        sa.Column("list", sa.String(8), nullable=False),
        sa.Column("reasons", sa.String(200), nullable=False),
        sa.Column("grace_deadline", Moment),
        sa.Column("list_since", Moment, nullable=False),
        sa.PrimaryKeyConstraint("imei", name="pk_imeis"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name="fk_imeis_device_id_devices"),
    )
    op.create_index("ix_imeis_list_grace_deadline", "imeis", ["list", "grace_deadline"])
    op.create_index("ix_imeis_device_id", "imeis", ["device_id"])
    op.create_table(
        "imei_facts",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("imei", sa.String(15), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("reference", sa.String(200)),
        sa.Column("occurred_at", Moment, nullable=False),
        sa.Column("recorded_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_imei_facts"),
    )
    op.create_index("ix_imei_facts_imei", "imei_facts", ["imei"])
    op.create_table(
        "status_changes",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("imei", sa.String(15), nullable=False),
        sa.Column("from_list", sa.String(8)),
        sa.Column("to_list", sa.String(8), nullable=False),
        sa.Column("reasons", sa.String(200), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("changed_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_status_changes"),
    )
    op.create_index("ix_status_changes_imei", "status_changes", ["imei"])
    op.create_index("ix_status_changes_changed_at", "status_changes", ["changed_at"])
    op.create_table(
        "sightings",
        sa.Column("imei", sa.String(15)),
        sa.Column("operator", sa.String(32)),
        sa.Column("imsi", sa.String(15)),
        sa.Column("msisdn", sa.String(15)),
        sa.Column("first_seen_at", Moment, nullable=False),
        sa.Column("last_seen_at", Moment, nullable=False),
        sa.Column("rat", sa.String(8)),
        sa.PrimaryKeyConstraint("imei", "operator", "imsi", "msisdn", name="pk_sightings"),
    )
    op.create_table(
        "uploads",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("organisation", sa.String(64)),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("rows_total", BigId, nullable=False),
        sa.Column("rows_accepted", BigId, nullable=False),
        sa.Column("rows_rejected", BigId, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("uploaded_by", sa.String(100)),
        sa.Column("uploaded_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_uploads"),
    )
    op.create_index("ix_uploads_kind_sha256", "uploads", ["kind", "sha256"])


def downgrade() -> None:
    for table in (
        "uploads",
        "sightings",
        "status_changes",
        "imei_facts",
        "imeis",
        "devices",
        "tacs",
    ):
        op.drop_table(table)
