"""Operator observations on SQLite: batched inserts into a temporary table, then set-based merges.

SQLite has no COPY and no time zones: rows go in by `executemany` in batches, times as the same
naive-UTC text `UtcDateTime` stores (so MIN/MAX on text are MIN/MAX in time). The merge does
what the PostgreSQL one does; SQLite's RETURNING cannot feed another statement, so the changed
IMEIs and triplets are found by a join before the upserts instead of from their results.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, column, select, table, text
from sqlalchemy.sql.elements import ColumnElement

from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.services.observations import Observation
from tizim.storage.schema import imeis
from tizim.storage.types import UtcDateTime

STAGING = "tizim_obs_staging"
PER_IMEI = "tizim_obs_imeis"
PER_TRIPLET = "tizim_obs_triplets"
CHANGED = "tizim_obs_changed"
RESIGHTED = "tizim_obs_resighted"
_BATCH_ROWS = 5000
_INSERT = f"INSERT INTO {STAGING} VALUES (?, ?, ?, ?, ?, ?)"


def sqlite_moment(moment: datetime) -> str:
    """The text SQLAlchemy's DateTime stores on SQLite, for a UTC moment."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class SqliteObservationStage:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._batch: list[tuple[Any, ...]] = []

    def open(self) -> None:
        self.drop()
        self.conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {STAGING} (imei TEXT NOT NULL, invalid_reason TEXT,"
            " imsi TEXT NOT NULL, msisdn TEXT NOT NULL, seen_at TEXT NOT NULL, rat TEXT)"
        )

    def write(self, row: Observation) -> None:
        self._batch.append(
            (
                row.imei,
                row.invalid_reason,
                row.imsi,
                row.msisdn,
                sqlite_moment(row.seen_at),
                row.rat,
            )
        )
        if len(self._batch) >= _BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self.conn.exec_driver_sql(_INSERT, self._batch)  # type: ignore[arg-type]
            self._batch = []

    def close_writer(self) -> None:
        self._flush()

    def merge(
        self,
        *,
        operator: str,
        now: datetime,
        rules: Rules,
        judge: Callable[[str], str | None],
        screen: object = None,
        clone_imsi_threshold: int = 0,
        source: str | None = None,
    ) -> dict[str, int]:
        """`judge` and `screen` are unused: rows were judged as they were read (see `_load`);
        every re-sighted IMEI is a clone candidate (`clone_imsi_threshold` is for PostgreSQL's
        much larger files); `source` too: the caller's `refresh_statuses` writes the history."""
        run = self.conn.exec_driver_sql
        run(
            f"CREATE TEMPORARY TABLE {PER_IMEI} AS SELECT imei, max(invalid_reason)"
            " AS invalid_reason, min(seen_at) AS first_seen, max(seen_at) AS last_seen"
            f" FROM {STAGING} GROUP BY imei"
        )
        run(f"CREATE UNIQUE INDEX temp.ix_{PER_IMEI} ON {PER_IMEI} (imei)")
        run(
            f"CREATE TEMPORARY TABLE {CHANGED} AS SELECT o.imei AS imei, i.imei IS NULL AS new"
            f" FROM {PER_IMEI} o LEFT JOIN imeis i ON i.imei = o.imei"
            " WHERE i.imei IS NULL OR i.first_seen_at IS NULL OR i.last_seen_at IS NULL"
            " OR o.first_seen < i.first_seen_at OR o.last_seen > i.last_seen_at"
        )
        self.conn.execute(
            text(
                "INSERT INTO imeis (imei, invalid_reason, first_seen_at, last_seen_at, list,"
                " reasons, list_since) SELECT imei, invalid_reason, first_seen, last_seen,"
                f" :unknown, :not_seen, :now FROM {PER_IMEI}"
                f" WHERE imei IN (SELECT imei FROM {CHANGED})"
                " ON CONFLICT (imei) DO UPDATE SET"
                " first_seen_at = coalesce(min(imeis.first_seen_at, excluded.first_seen_at),"
                " excluded.first_seen_at),"
                " last_seen_at = coalesce(max(imeis.last_seen_at, excluded.last_seen_at),"
                " excluded.last_seen_at)"
            ).bindparams(
                bindparam("now", now, type_=UtcDateTime),
                unknown=ListName.UNKNOWN.value,
                not_seen=Reason.NOT_SEEN.value,
            )
        )
        run(
            f"CREATE TEMPORARY TABLE {PER_TRIPLET} AS SELECT imei, imsi, msisdn,"
            " min(seen_at) AS first_seen, max(seen_at) AS last_seen, max(rat) AS rat"
            f" FROM {STAGING} GROUP BY imei, imsi, msisdn"
        )
        triplet_changes = self.conn.execute(
            text(
                "SELECT sum(s.imei IS NULL), sum(s.imei IS NOT NULL)"
                f" FROM {PER_TRIPLET} t LEFT JOIN sightings s ON s.imei = t.imei"
                " AND s.operator = :operator AND s.imsi = t.imsi AND s.msisdn = t.msisdn"
                " WHERE s.imei IS NULL OR t.first_seen < s.first_seen_at"
                " OR t.last_seen > s.last_seen_at"
            ).bindparams(operator=operator)
        ).one()
        self.conn.execute(
            text(
                f"CREATE TEMPORARY TABLE {RESIGHTED} AS SELECT DISTINCT t.imei AS imei"
                f" FROM {PER_TRIPLET} t LEFT JOIN sightings s ON s.imei = t.imei"
                " AND s.operator = :operator AND s.imsi = t.imsi AND s.msisdn = t.msisdn"
                " WHERE s.imei IS NULL OR t.first_seen < s.first_seen_at"
                " OR t.last_seen > s.last_seen_at"
            ).bindparams(operator=operator)
        )
        self.conn.execute(
            text(
                "INSERT INTO sightings (imei, operator, imsi, msisdn, first_seen_at,"
                " last_seen_at, rat) SELECT imei, :operator, imsi, msisdn, first_seen,"
                f" last_seen, rat FROM {PER_TRIPLET} WHERE true"
                " ON CONFLICT (imei, operator, imsi, msisdn) DO UPDATE SET"
                " first_seen_at = min(sightings.first_seen_at, excluded.first_seen_at),"
                " last_seen_at = max(sightings.last_seen_at, excluded.last_seen_at),"
                " rat = coalesce(excluded.rat, sightings.rat)"
                " WHERE excluded.first_seen_at < sightings.first_seen_at"
                " OR excluded.last_seen_at > sightings.last_seen_at"
            ).bindparams(operator=operator)
        )
        imei_counts = run(
            f"SELECT (SELECT count(*) FROM {PER_IMEI}), coalesce(sum(new), 0), count(*)"
            f" FROM {CHANGED}"
        ).one()
        return {
            "imeis_in_file": int(imei_counts[0]),
            "imeis_new": int(imei_counts[1]),
            "imeis_seen_times_changed": int(imei_counts[2]) - int(imei_counts[1]),
            "sightings_new": int(triplet_changes[0] or 0),
            "sightings_extended": int(triplet_changes[1] or 0),
        }

    def changed_imeis(self) -> ColumnElement[bool]:
        return imeis.c.imei.in_(select(column("imei")).select_from(table(CHANGED)))

    def resighted_imeis(self) -> Any:
        return select(column("imei")).select_from(table(RESIGHTED))

    def abandon(self) -> None:
        self._batch = []

    def drop(self) -> None:
        for name in (STAGING, PER_IMEI, PER_TRIPLET, CHANGED, RESIGHTED):
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
