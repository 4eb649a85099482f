"""Owner applications, payments, decisions (issue 5).

Revision ID: 0004_applications
Revises: 0003_organisations_feeds
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_applications"
down_revision = "0003_organisations_feeds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
