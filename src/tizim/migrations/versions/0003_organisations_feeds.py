"""Organisations, API keys, trusted registrations, state feeds (issue 4).

Revision ID: 0003_organisations_feeds
Revises: 0002_operator_data
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_organisations_feeds"
down_revision = "0002_operator_data"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
