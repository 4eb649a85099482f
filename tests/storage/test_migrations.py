"""Alembic migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tizim.runtime import Runtime
from tizim.storage.migrate import current_revision, head_revision, upgrade_schema
from tizim.storage.schema import metadata


def test_migrated_schema_matches_the_declared_tables(registry: Runtime) -> None:
    assert current_revision(registry.engine) == head_revision()
    with registry.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_migrating_twice_changes_nothing(registry: Runtime) -> None:
    assert upgrade_schema(registry.engine) == head_revision()
    assert current_revision(registry.engine) == head_revision()
