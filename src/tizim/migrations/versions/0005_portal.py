"""Web portal: staff users, sessions, support tickets (issue 7).

Revision ID: 0005_portal
Revises: 0004_applications
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_portal"
down_revision = "0004_applications"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("username", sa.String(64)),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("disabled_at", Moment),
        sa.PrimaryKeyConstraint("username", name="pk_staff_users"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_sha256", sa.String(64)),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("expires_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("token_sha256", name="pk_staff_sessions"),
        sa.ForeignKeyConstraint(
            ["username"],
            ["staff_users.username"],
            name="fk_staff_sessions_username_staff_users",
        ),
    )
    op.create_index("ix_staff_sessions_username", "staff_sessions", ["username"])
    op.create_table(
        "support_tickets",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("iin_sha256", sa.String(64)),
        sa.Column("contact", sa.String(200)),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("answer_by", Moment, nullable=False),
        sa.Column("answered_at", Moment),
        sa.PrimaryKeyConstraint("id", name="pk_support_tickets"),
        sa.UniqueConstraint("number", name="uq_support_tickets_number"),
    )
    op.create_index(
        "ix_support_tickets_status_created_at", "support_tickets", ["status", "created_at"]
    )
    for table in ("support_attachments", "support_replies"):
        columns = (
            [
                sa.Column("stored_name", sa.String(64), nullable=False),
                sa.Column("original_name", sa.String(255), nullable=False),
                sa.Column("content_type", sa.String(40), nullable=False),
                sa.Column("size_bytes", sa.Integer, nullable=False),
                sa.Column("sha256", sa.String(64), nullable=False),
                sa.UniqueConstraint("stored_name", name="uq_support_attachments_stored_name"),
            ]
            if table == "support_attachments"
            else [
                sa.Column("author", sa.String(64), nullable=False),
                sa.Column("body", sa.Text, nullable=False),
            ]
        )
        op.create_table(
            table,
            sa.Column("id", BigId, autoincrement=True),
            sa.Column("ticket_id", BigId, nullable=False),
            *columns,
            sa.Column("created_at", Moment, nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            sa.ForeignKeyConstraint(
                ["ticket_id"], ["support_tickets.id"], name=f"fk_{table}_ticket_id_support_tickets"
            ),
        )
        op.create_index(f"ix_{table}_ticket_id", table, ["ticket_id"])


def downgrade() -> None:
    for table in ("support_replies", "support_attachments"):
        op.drop_index(f"ix_{table}_ticket_id", table_name=table)
        op.drop_table(table)
    op.drop_index("ix_support_tickets_status_created_at", table_name="support_tickets")
    op.drop_table("support_tickets")
    op.drop_index("ix_staff_sessions_username", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("staff_users")
