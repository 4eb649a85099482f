"""Ingesting an operator's observation file: one transaction, streamed, idempotent.

1. The file is identified by its SHA-256: the same file accepted before is not loaded again.
2. On PostgreSQL the file's own bytes go to a temporary table by COPY once Python has proven
   their shape, a chunk at a time (`ingest_postgres_copy.py`); lines it cannot prove are read
   one by one (`observations.py`) and bad ones go to the report. A file that needs it (a bad
   time, quoting) is read row by row instead, as always on SQLite: streamed, flat memory.
3. Above the bad-row threshold the file is refused whole: the staging is thrown away and only
   the refusal is recorded. Otherwise the staging is merged set-based into `imeis` and
   `sightings`, clones are looked for among the IMEIs with new sightings, and the lists of the
   IMEIs whose sightings moved are refreshed (grace starts at the first sighting on any
   operator, since `first_seen_at` only ever moves earlier).
Everything happens in the caller's transaction: killed half-way, nothing remains.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, NestedTransaction, select

from tizim.domain.rules import Rules
from tizim.services.clones import CloneRules, detect_clones
from tizim.services.csv_input import FileRefused, RowError, UploadReport, csv_rows, file_sha256
from tizim.services.imei_screen import ImeiScreen
from tizim.services.ingest_postgres import PostgresObservationStage
from tizim.services.ingest_postgres_copy import FastPathDeclined, FileScreen
from tizim.services.ingest_sqlite import SqliteObservationStage
from tizim.services.observations import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Observation,
    ObservationReader,
)
from tizim.services.uploads import previous_acceptance, record_upload
from tizim.storage.queries import tac_database_loaded
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import tacs

log = logging.getLogger(__name__)

OBSERVATIONS_KIND = "operator_observations"
PROGRESS_EVERY_ROWS = 20_000

Progress = Callable[[int], None]
"""Called now and then with the number of (uncompressed) bytes read so far."""


class ObservationStage(Protocol):
    def open(self) -> None: ...
    def write(self, row: Observation) -> None: ...
    def close_writer(self) -> None: ...
    def merge(
        self,
        *,
        operator: str,
        now: datetime,
        rules: Rules,
        judge: Callable[[str], str | None],
        screen: ImeiScreen | None = None,
        clone_imsi_threshold: int = 0,
        source: str | None = None,
    ) -> dict[str, int]: ...
    def changed_imeis(self) -> Any: ...
    def resighted_imeis(self) -> Any: ...
    def abandon(self) -> None: ...
    def drop(self) -> None: ...


def ingest_observations(
    conn: Connection,
    path: Path,
    *,
    operator: str,
    now: datetime,
    rules: Rules,
    bad_row_threshold: float,
    clone_rules: CloneRules,
    file_name: str | None = None,
    uploaded_by: str | None = None,
    progress: Progress | None = None,
) -> UploadReport:
    """Load one observation file of `operator`; the report says what was stored and refused.

    Never raises for bad input: a refused file comes back with `report.refused` set (and is
    recorded as refused, in the same transaction).
    """
    report = UploadReport(OBSERVATIONS_KIND, file_name or path.name, file_sha256(path))
    earlier = previous_acceptance(
        conn, kind=OBSERVATIONS_KIND, organisation=operator, sha256=report.sha256
    )
    if earlier is not None:
        report.duplicate_of = earlier
    else:
        _load(conn, path, report, operator, now, rules, bad_row_threshold, clone_rules, progress)
    record_upload(conn, report, organisation=operator, uploaded_by=uploaded_by, now=now)
    return report


def _load(
    conn: Connection,
    path: Path,
    report: UploadReport,
    operator: str,
    now: datetime,
    rules: Rules,
    bad_row_threshold: float,
    clone_rules: CloneRules,
    progress: Progress | None,
) -> None:
    postgres = conn.dialect.name == "postgresql"
    known_tacs = _known_tacs(conn)
    # PostgreSQL judges each new IMEI once after staging (a file repeats IMEIs, and most are
    # already known); SQLite, at its small scale, judges each row as it is read.
    reader = ObservationReader(
        now=now, rules=rules, known_tacs=known_tacs, defer_authenticity=postgres
    )
    finish = functools.partial(
        _merge_or_refuse,
        conn,
        report=report,
        operator=operator,
        now=now,
        rules=rules,
        reader=reader,
        screen=ImeiScreen(rules.reserved_tac_prefixes, known_tacs),
        bad_row_threshold=bad_row_threshold,
        clone_rules=clone_rules,
    )
    if postgres:
        try:
            stage, savepoint = _stage_by_copy(conn, path, reader, report, progress)
        except FastPathDeclined as why:
            log.info("observation file takes the row path: %s", why)
            report.forget_rows()
        else:
            finish(stage, savepoint)
            return
    row_stage: ObservationStage = (
        PostgresObservationStage(conn) if postgres else SqliteObservationStage(conn)
    )
    # On PostgreSQL a refusal half-way through a COPY aborts the statement: a savepoint undoes
    # it without losing the caller's transaction (where the refusal itself is then recorded).
    # SQLite has nothing to undo but its temporary tables (pysqlite's savepoints are unreliable).
    savepoint = conn.begin_nested() if postgres else None
    try:
        row_stage.open()
        _stream_rows(path, reader, row_stage, report, progress)
    except FileRefused as refusal:
        _refused(report, refusal, row_stage, savepoint)
        return
    finish(row_stage, savepoint)


def _stage_by_copy(
    conn: Connection,
    path: Path,
    reader: ObservationReader,
    report: UploadReport,
    progress: Progress | None,
) -> tuple[ObservationStage, NestedTransaction]:
    """The file staged by COPY of its own bytes, or FastPathDeclined with nothing left behind."""
    savepoint = conn.begin_nested()
    screen = FileScreen(path, reader, report, progress)
    stage = None
    try:
        stage = screen.open(conn)
        stage.open()
        screen.stream()
        stage.settle_moments(reader)
    except FastPathDeclined:
        if stage is not None:
            stage.abandon()
        savepoint.rollback()
        raise
    return stage, savepoint


def _merge_or_refuse(
    conn: Connection,
    stage: ObservationStage,
    savepoint: NestedTransaction | None,
    *,
    report: UploadReport,
    operator: str,
    now: datetime,
    rules: Rules,
    reader: ObservationReader,
    screen: ImeiScreen,
    bad_row_threshold: float,
    clone_rules: CloneRules,
) -> None:
    """Merge what is staged, unless the file has too many bad rows; then nothing remains."""
    try:
        report.rows_accepted = report.rows_total - report.errors_total
        report.refuse_if_too_bad(bad_row_threshold)
    except FileRefused as refusal:
        _refused(report, refusal, stage, savepoint)
        return
    report.counts = stage.merge(
        operator=operator,
        now=now,
        rules=rules,
        judge=reader.authenticity,
        screen=screen,
        clone_imsi_threshold=clone_rules.imsi_threshold,
    )
    report.counts["clones_suspected"] = detect_clones(
        conn, stage.resighted_imeis(), now=now, rules=rules, clone_rules=clone_rules
    )
    # The PostgreSQL merge refreshes the known IMEIs whose sighting times moved as it moves
    # them; this refresh catches everything else (clone suspects, SQLite's merge).
    report.counts["list_changes"] = report.counts.get("list_changes", 0) + refresh_statuses(
        conn, stage.changed_imeis(), now=now, rules=rules, source=f"observations:{operator}"
    )
    stage.drop()
    if savepoint is not None:
        savepoint.commit()


def _refused(
    report: UploadReport,
    refusal: FileRefused,
    stage: ObservationStage,
    savepoint: NestedTransaction | None,
) -> None:
    stage.abandon()
    if savepoint is not None:
        savepoint.rollback()
    else:
        stage.drop()
    report.refused = True
    report.refusal = str(refusal)
    report.rows_accepted = 0
    report.counts = {}


def _stream_rows(
    path: Path,
    reader: ObservationReader,
    stage: ObservationStage,
    report: UploadReport,
    progress: Progress | None,
) -> None:
    bytes_read = 0
    with csv_rows(path, REQUIRED_COLUMNS, OPTIONAL_COLUMNS) as rows:
        for line, row in rows:
            report.rows_total += 1
            observed = reader.read(line, row)
            if isinstance(observed, RowError):
                report.add_error(observed)
            else:
                stage.write(observed)
            if progress is not None:
                # The reader hides the byte position; the row's own length is a close estimate.
                bytes_read += sum(len(value) for value in row.values() if value) + len(row)
                if report.rows_total % PROGRESS_EVERY_ROWS == 0:
                    progress(bytes_read)
    stage.close_writer()
    if progress is not None:
        progress(bytes_read)


def _known_tacs(conn: Connection) -> frozenset[str] | None:
    """The TAC database as a set (a few hundred thousand codes at most), or None if empty."""
    if not tac_database_loaded(conn):
        return None
    return frozenset(conn.execute(select(tacs.c.tac)).scalars())
