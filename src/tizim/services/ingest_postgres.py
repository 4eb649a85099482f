"""Operator observations on PostgreSQL: `COPY` into a temporary table, then set-based merges.

The staging table is TEMPORARY (never WAL-logged, private to the connection, gone with it).
Rows are written as COPY text lines by hand: the values are digits, reason codes and
alphanumeric RAT names checked by the reader, so no escaping is needed, and formatting a line
is cheaper than any generic row adapter. The merge is a few statements whatever the file size:
aggregate per IMEI and per triplet, upsert with LEAST/GREATEST (so overlapping and repeated
files change nothing), remember which IMEIs changed for the status refresh and clone check.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy import (
    Boolean,
    Connection,
    String,
    cast,
    column,
    null,
    select,
    table,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from tizim.domain.rules import Rules
from tizim.services.imei_screen import WIDTH, ImeiScreen
from tizim.services.observations import Observation
from tizim.storage.bulk_status import insert_new_with_status
from tizim.storage.refresh import widen_sightings_with_status
from tizim.storage.schema import imeis
from tizim.storage.types import UtcDateTime

STAGING = "tizim_obs_staging"
PER_IMEI = "tizim_obs_imeis"
TRIPLETS = "tizim_obs_triplets"
INVALID = "tizim_obs_invalid"
CHANGED = "tizim_obs_changed"
RESIGHTED = "tizim_obs_resighted"
_FLUSH_ROWS = 8192
NULL = "\\N"
MERGE_WORK_MEM = "1GB"
SCREEN_BATCH = 65536
ANALYZE_AFTER_ROWS = 100_000
Judge = Callable[[str], str | None]
"""The authenticity verdict of one 15-digit IMEI (ObservationReader.authenticity)."""


class PostgresObservationStage:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._copy_context: Any = None
        self._copy: Any = None
        self._cursor: Any = None
        self._lines: list[str] = []
        self._moment_text: dict[datetime, str] = {}

    def open(self) -> None:
        self.drop()
        self.conn.execute(
            text(
                f"CREATE TEMPORARY TABLE {STAGING} (imei varchar(15) NOT NULL,"
                " invalid_reason varchar(32), imsi varchar(15) NOT NULL,"
                " msisdn varchar(15) NOT NULL, seen_at timestamptz NOT NULL, rat varchar(8))"
            )
        )
        self._start_copy(
            f"COPY {STAGING} (imei, invalid_reason, imsi, msisdn, seen_at, rat) FROM STDIN"
        )

    def _start_copy(self, statement: str) -> None:
        raw = self.conn.connection.driver_connection
        assert raw is not None
        self._cursor = raw.cursor()
        self._copy_context = self._cursor.copy(statement)
        self._copy = self._copy_context.__enter__()

    def _end_copy(self) -> None:
        self._copy_context.__exit__(None, None, None)
        self._copy_context = self._copy = None
        self._cursor.close()

    def write(self, row: Observation) -> None:
        moment = self._moment_text.get(row.seen_at)
        if moment is None:
            if len(self._moment_text) > 100_000:
                self._moment_text.clear()
            moment = self._moment_text[row.seen_at] = row.seen_at.isoformat()
        self._lines.append(
            f"{row.imei}\t{row.invalid_reason or NULL}\t{row.imsi}\t{row.msisdn}\t{moment}"
            f"\t{row.rat or NULL}\n"
        )
        if len(self._lines) >= _FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._lines:
            self._copy.write("".join(self._lines))
            self._lines.clear()

    def close_writer(self) -> None:
        """End the COPY: rows become visible to SQL on this connection."""
        self._flush()
        self._end_copy()
        self.conn.execute(text(f"ANALYZE {STAGING}"))

    def merge(
        self,
        *,
        operator: str,
        now: datetime,
        rules: Rules,
        judge: Judge,
        screen: ImeiScreen | None = None,
        clone_imsi_threshold: int = 0,
        source: str | None = None,
    ) -> dict[str, int]:
        """Fold the staged rows into `imeis` and `sightings`; returns counts for the report.

        `screen` passes most new IMEIs in bulk (the rest, or all without it, go to `judge`);
        `clone_imsi_threshold` narrows the clone candidates (see `resighted_imeis`); `source`
        names the history rows written (default `observations:<operator>`).
        """
        run = self.conn.execute
        # Grouping millions of staged rows in the default 4 MB spills to disk; this transaction
        # alone gets more (SET LOCAL ends with it).
        run(text(f"SET LOCAL work_mem = '{MERGE_WORK_MEM}'"))
        run(text("SET LOCAL jit = off"))  # compiling costs more than it saves on these plans
        run(text(f"CREATE TEMPORARY TABLE {CHANGED} (imei varchar(15))"))
        run(text(f"CREATE TEMPORARY TABLE {RESIGHTED} (imei varchar(15))"))
        # One row per triplet, then one per IMEI from those: the second grouping reads the
        # (much smaller) first instead of the staged rows.
        run(text(f"CREATE TEMPORARY TABLE {TRIPLETS} AS {self.triplets_query()}"))
        run(text(f"ANALYZE {TRIPLETS}"))
        run(
            text(
                f"CREATE TEMPORARY TABLE {PER_IMEI} AS SELECT a.*, i.imei IS NULL AS new FROM"
                " (SELECT imei, max(invalid_reason) AS invalid_reason,"
                " min(first_seen_at) AS first_seen_at, max(last_seen_at) AS last_seen_at,"
                f" count(*) AS triplets FROM {TRIPLETS} GROUP BY imei) AS a"
                " LEFT JOIN imeis i ON i.imei = a.imei"
            )
        )
        run(text(f"ANALYZE {PER_IMEI}"))
        self._judge_new_imeis(judge, screen)
        in_file = int(run(text(f"SELECT count(*) FROM {PER_IMEI}")).scalar_one())
        source = source or f"observations:{operator}"
        # Plain INSERTs cost half of `ON CONFLICT` ones, and nobody else can hold rows for
        # IMEIs the registry has never met, except a concurrent load: then its unique
        # violation sends us to the conflict-proof statements.
        try:
            with self.conn.begin_nested():
                new = insert_new_imeis(self.conn, now=now, rules=rules, source=source)
                new_sightings = self._insert_sightings_of_new_imeis(operator)
            lost_race = False
        except IntegrityError:
            new = insert_new_imeis(
                self.conn, now=now, rules=rules, source=source, skip_existing=True
            )
            new_sightings = 0
            # Some "new" IMEIs came in meanwhile: every IMEI of the file gets the
            # LEAST/GREATEST update below, and every triplet the sightings upsert.
            lost_race = True
        moved, list_changes = widen_sightings_with_status(
            self.conn,
            table(
                PER_IMEI,
                column("imei"),
                column("first_seen_at"),
                column("last_seen_at"),
                column("new", Boolean),
            ),
            only_known=not lost_race,
            changed_into=table(CHANGED, column("imei")),
            now=now,
            rules=rules,
            source=source,
        )
        sighting_counts = run(
            text(
                f"""
                WITH upserted AS (
                    INSERT INTO sightings AS s (imei, operator, imsi, msisdn,
                                                first_seen_at, last_seen_at, rat)
                    SELECT imei, :operator, imsi, msisdn, first_seen_at, last_seen_at, rat
                    FROM {TRIPLETS} t
                    WHERE :lost_race OR t.imei IN (SELECT imei FROM {PER_IMEI} WHERE NOT new)
                    ORDER BY imei, imsi, msisdn
                    ON CONFLICT (imei, operator, imsi, msisdn) DO UPDATE SET
                        first_seen_at = LEAST(s.first_seen_at, EXCLUDED.first_seen_at),
                        last_seen_at = GREATEST(s.last_seen_at, EXCLUDED.last_seen_at),
                        rat = COALESCE(EXCLUDED.rat, s.rat)
                    WHERE EXCLUDED.first_seen_at < s.first_seen_at
                       OR EXCLUDED.last_seen_at > s.last_seen_at
                    RETURNING s.imei, (xmax = 0) AS inserted
                ), recorded AS (
                    INSERT INTO {RESIGHTED} SELECT DISTINCT imei FROM upserted RETURNING imei
                )
                SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
                FROM upserted
                """
            ).bindparams(operator=operator, lost_race=lost_race)
        ).one()
        if not lost_race:
            # The upsert above saw only IMEIs known before. A new one has only this file's
            # sightings, so it can be a clone suspect only with more IMSIs here than the
            # threshold allows (triplets >= IMSIs); the others need no clone check.
            run(
                text(
                    f"INSERT INTO {RESIGHTED} SELECT imei FROM {PER_IMEI}"
                    " WHERE new AND triplets > :threshold"
                ).bindparams(threshold=clone_imsi_threshold)
            )
        run(text(f"ANALYZE {CHANGED}"))
        run(text(f"ANALYZE {RESIGHTED}"))
        if new_sightings + int(sighting_counts[0]) > ANALYZE_AFTER_ROWS:
            # Statistics from before a big first load make the planner scan all sightings
            # for the clone check; fresh ones let it look up the few candidates by key.
            run(text("ANALYZE sightings"))
        return {
            "imeis_in_file": in_file,
            "imeis_new": new,
            "imeis_seen_times_changed": moved,
            "list_changes": list_changes,  # of known IMEIs; the caller adds its refresh's
            "sightings_new": new_sightings + int(sighting_counts[0]),
            "sightings_extended": int(sighting_counts[1]),
        }

    def _insert_sightings_of_new_imeis(self, operator: str) -> int:
        return self.conn.execute(
            text(
                f"""
                INSERT INTO sightings (imei, operator, imsi, msisdn,
                                       first_seen_at, last_seen_at, rat)
                SELECT t.imei, :operator, t.imsi, t.msisdn, t.first_seen_at, t.last_seen_at, t.rat
                FROM {TRIPLETS} t JOIN {PER_IMEI} p ON p.imei = t.imei AND p.new
                ORDER BY t.imei, t.imsi, t.msisdn
                """
            ).bindparams(operator=operator)
        ).rowcount

    def triplets_query(self) -> str:
        """One row per IMEI-IMSI-MSISDN of the staged rows, with its first and last sighting."""
        return (
            "SELECT imei, imsi, msisdn, min(seen_at) AS first_seen_at,"
            " max(seen_at) AS last_seen_at, max(rat) AS rat,"
            f" max(invalid_reason) AS invalid_reason FROM {STAGING} GROUP BY imei, imsi, msisdn"
        )

    def _judge_new_imeis(self, judge: Judge, screen: ImeiScreen) -> None:
        """Give each IMEI the registry has never met its authenticity verdict.

        The new IMEIs stream out by COPY through the numpy screen; the few it does not pass
        are judged by the domain rule (`judge`), and the failures are spilled to a temporary
        file, copied back and set on the staged IMEIs: memory stays flat whatever the count.
        """
        raw = self.conn.connection.driver_connection
        assert raw is not None
        # A megabyte of IMEIs per row, so that neither side spends a step per IMEI.
        packed = (
            "SELECT string_agg(imei, '') FROM (SELECT imei, row_number() OVER () / %(batch)s"
            f" AS batch FROM {PER_IMEI} WHERE new AND invalid_reason IS NULL) AS n GROUP BY batch"
        )
        with tempfile.TemporaryFile("w+b") as spill:
            with raw.cursor(name="tizim_new_imeis") as cursor:
                cursor.itersize = 2
                cursor.execute(packed, {"batch": SCREEN_BATCH})
                batches = (row[0].encode("ascii") for row in cursor)
                suspects = screen.failures(batches) if screen else every_imei(batches)
                for imei in suspects:
                    reason = judge(imei)
                    if reason is not None:
                        spill.write(f"{imei}\t{reason}\n".encode())
            if not spill.tell():
                return
            copy_spill_into(self.conn, INVALID, "imei varchar(15), reason varchar(32)", spill)
        self.conn.execute(
            text(
                f"UPDATE {PER_IMEI} o SET invalid_reason = v.reason FROM {INVALID} v"
                " WHERE v.imei = o.imei"
            )
        )

    def changed_imeis(self) -> ColumnElement[bool]:
        """IMEIs that are new or whose first/last sighting moved: their list may change."""
        return imeis.c.imei.in_(select(column("imei")).select_from(table(CHANGED)))

    def resighted_imeis(self) -> Any:
        """A SELECT of the clone candidates: known IMEIs with a new or extended sighting, and
        new IMEIs with more triplets in the file than `clone_imsi_threshold`."""
        return select(column("imei")).select_from(table(RESIGHTED))

    def abandon(self) -> None:
        """Stop a COPY in progress (the caller rolls back to its savepoint)."""
        if self._copy_context is not None:
            # psycopg answers the cancelled COPY with an error: expected, and rolled back.
            with contextlib.suppress(Exception):
                self._copy_context.__exit__(RuntimeError, RuntimeError("abandoned"), None)
            self._copy_context = self._copy = None

    def drop(self) -> None:
        for name in (STAGING, TRIPLETS, PER_IMEI, INVALID, CHANGED, RESIGHTED):
            self.conn.execute(text(f"DROP TABLE IF EXISTS pg_temp.{name}"))


def copy_spill_into(conn: Connection, name: str, columns: str, spill: IO[bytes]) -> None:
    """A new temporary table `name` filled by COPY from a spill file of COPY text lines."""
    conn.execute(text(f"CREATE TEMPORARY TABLE {name} ({columns})"))
    raw = conn.connection.driver_connection
    assert raw is not None
    spill.seek(0)
    with raw.cursor() as cursor, cursor.copy(f"COPY {name} FROM STDIN") as copy:
        for chunk in iter(lambda: spill.read(1 << 20), b""):
            copy.write(chunk)
    conn.execute(text(f"ANALYZE {name}"))


def every_imei(packed_batches: Iterable[bytes]) -> Iterator[str]:
    """Each IMEI of batches of 15-digit IMEIs packed end to end."""
    for packed in packed_batches:
        for start in range(0, len(packed), WIDTH):
            yield packed[start : start + WIDTH].decode()


def insert_new_imeis(
    conn: Connection, *, now: datetime, rules: Rules, source: str, skip_existing: bool = False
) -> int:
    """Insert the IMEIs met for the first time with their list already computed; returns how many.

    Half the work of a first load is avoided this way: instead of inserting each new IMEI as
    `unknown` and rewriting the row in `refresh_statuses`, its status and its history row come
    from `bulk_status` (the one SQL rule, applied to its staged facts). The IMEIs are those
    flagged `new` in the per-IMEI staging; `skip_existing` as in `insert_new_with_status`.
    """
    staged = table(
        PER_IMEI,
        column("imei", String),
        column("invalid_reason", String),
        column("first_seen_at", UtcDateTime),
        column("last_seen_at", UtcDateTime),
        column("new", Boolean),
    )
    rows = select(
        staged.c.imei,
        cast(null(), imeis.c.device_id.type).label("device_id"),
        staged.c.invalid_reason,
        staged.c.first_seen_at,
        staged.c.last_seen_at,
    ).where(staged.c.new)
    return insert_new_with_status(
        conn, rows, now=now, rules=rules, source=source, skip_existing=skip_existing
    )
