"""Cheaper bulk registration: drop an index nothing reads and the imeis → devices foreign key.

- `ix_registrations_organisation_device_ref`: no query looks registrations up by device_ref,
  and keeping it cost a random b-tree insert per registered IMEI (a fifth of a 1 M-device load).
- `fk_imeis_device_id_devices`: PostgreSQL checks a foreign key row by row (an index probe
  and a row lock that rewrites the device row), a third of the IMEI insert. Device ids are
  only ever written from a `devices` row read or created in the same transaction
  (registrations, repairs, pairing), and devices are never deleted.
- A registration's TRUSTED_REGISTRATION fact is no longer also written to `imei_facts`: the
  registration row is the fact (`history` reads it as one). The copies written before are
  deleted, or histories would list them twice.

Revision ID: 0006_bulk_registration_speed
Revises: 0005_portal
"""

from alembic import op

revision = "0006_bulk_registration_speed"
down_revision = "0005_portal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM imei_facts WHERE kind = 'TRUSTED_REGISTRATION' AND EXISTS ("
        " SELECT 1 FROM registrations r WHERE r.imei = imei_facts.imei"
        " AND r.organisation = imei_facts.source AND r.recorded_at = imei_facts.recorded_at)"
    )
    op.drop_index("ix_registrations_organisation_device_ref", table_name="registrations")
    with op.batch_alter_table("imeis") as batch:  # SQLite rebuilds the table to drop it
        batch.drop_constraint("fk_imeis_device_id_devices", type_="foreignkey")


def downgrade() -> None:
    op.execute(
        "INSERT INTO imei_facts (imei, kind, source, reference, occurred_at, recorded_at)"
        " SELECT imei, 'TRUSTED_REGISTRATION', organisation, document,"
        " COALESCE(registered_on, recorded_at), recorded_at FROM registrations"
    )
    with op.batch_alter_table("imeis") as batch:
        batch.create_foreign_key("fk_imeis_device_id_devices", "devices", ["device_id"], ["id"])
    op.create_index(
        "ix_registrations_organisation_device_ref",
        "registrations",
        ["organisation", "device_ref"],
    )
