"""Operator data: list generations, so that delta lists chain (issue 3).

Revision ID: 0002_operator_data
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_operator_data"
down_revision = "0001_core"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "list_generations",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("generated_at", Moment, nullable=False),
        sa.Column("previous_id", BigId),
        sa.Column("changes_high_water", BigId, nullable=False),
        sa.Column("directory", sa.Text, nullable=False),
        sa.Column("manifest", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_list_generations"),
    )


def downgrade() -> None:
    op.drop_table("list_generations")
