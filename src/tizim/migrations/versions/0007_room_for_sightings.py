"""Cheaper bulk writes: room for in-place sighting updates, lighter history and device indexes.

Free space in the pages of `imeis` and `sightings`.

An operator's daily dump moves `last_seen_at` of millions of IMEIs and sightings. With full
pages (the default fillfactor 100, and bulk loads fill pages completely) every such update
writes the new row version to another page and a new entry into every index of the table.
Leaving 20 % of each page free lets PostgreSQL update in place (a HOT update: no index
touched), since neither column is indexed. Only pages written from now on get the room;
`VACUUM FULL` (or pg_repack) gives it to an existing table.

`ix_status_changes_changed_at` becomes a BRIN index on PostgreSQL: history is append-only and
`changed_at` grows with it, so a summary per range of pages answers the "changes since" queries
of the statistics and dashboards, at a fraction of the cost of a b-tree entry per change (every
bulk load writes one history row per new IMEI). SQLite keeps its b-tree.

`ix_imeis_device_id` becomes partial: only registered devices have a device id, and the
observed IMEIs without one (most of a first load) no longer each cost an index entry. Every
lookup by device id (`device_id = :id`) implies `device_id IS NOT NULL`, so it still uses it.

Revision ID: 0007_room_for_sightings
Revises: 0006_bulk_registration_speed
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_room_for_sightings"
down_revision = "0006_bulk_registration_speed"
branch_labels = None
depends_on = None

NOT_NULL = sa.text("device_id IS NOT NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE imeis SET (fillfactor = 80)")
        op.execute("ALTER TABLE sightings SET (fillfactor = 80)")
    op.drop_index("ix_imeis_device_id", table_name="imeis")
    op.create_index(
        "ix_imeis_device_id",
        "imeis",
        ["device_id"],
        postgresql_where=NOT_NULL,
        sqlite_where=NOT_NULL,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_status_changes_changed_at", table_name="status_changes")
        op.create_index(
            "ix_status_changes_changed_at",
            "status_changes",
            ["changed_at"],
            postgresql_using="brin",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_status_changes_changed_at", table_name="status_changes")
        op.create_index("ix_status_changes_changed_at", "status_changes", ["changed_at"])
    op.drop_index("ix_imeis_device_id", table_name="imeis")
    op.create_index("ix_imeis_device_id", "imeis", ["device_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE sightings RESET (fillfactor)")
        op.execute("ALTER TABLE imeis RESET (fillfactor)")
