"""Registry staff resolve registration conflicts: how, by whom and why.

A conflict (an IMEI another organisation had already registered) was only ever opened; staff
now close it by keeping the existing registration or transferring it to the organisation that
reported the conflict. `resolved_at` already existed; the three new columns say which of the
two was chosen, by whom, and the reason staff gave. All are empty while a conflict is open,
so existing rows need no value and the old code keeps working while this runs.

Revision ID: 0008_conflict_resolution
Revises: 0007_room_for_sightings
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_conflict_resolution"
down_revision = "0007_room_for_sightings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("registration_conflicts", sa.Column("resolution", sa.String(16)))
    op.add_column("registration_conflicts", sa.Column("resolved_by", sa.String(64)))
    op.add_column("registration_conflicts", sa.Column("resolution_note", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("registration_conflicts") as batch:  # SQLite rebuilds the table
        batch.drop_column("resolution_note")
        batch.drop_column("resolved_by")
        batch.drop_column("resolution")
