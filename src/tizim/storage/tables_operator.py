"""Operator data (issue 3): the record of every list generation, so deltas chain.

Observation uploads are recorded in the shared `uploads` table and sightings in `sightings`;
what is specific to operators is the list generations: each remembers up to which
`status_changes.id` it covered, and the next one's delta reads only the changes after it.
"""

from __future__ import annotations

from sqlalchemy import Column, Table, Text

from tizim.storage.schema import metadata
from tizim.storage.types import BigId, UtcDateTime

list_generations = Table(
    "list_generations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # The `now` the lists describe (the CLI's --now), not the wall-clock time of the run.
    Column("generated_at", UtcDateTime, nullable=False),
    Column("previous_id", BigId),
    # Every status change with an id up to this one is reflected in this generation's files.
    Column("changes_high_water", BigId, nullable=False),
    Column("directory", Text, nullable=False),
    # manifest.json as written: file names, row counts and SHA-256 of every file.
    Column("manifest", Text, nullable=False),
)
