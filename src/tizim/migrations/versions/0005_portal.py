"""Web portal: staff users, sessions, support tickets (issue 7).

Revision ID: 0005_portal
Revises: 0004_applications
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005_portal"
down_revision = "0004_applications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
