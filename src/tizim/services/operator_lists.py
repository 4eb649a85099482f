"""List files for operators: full black and grey lists, deltas that chain, notification lists.

A generation (`tizim lists generate`) writes into `OUTDIR/generation-<id>/`:
- `black.csv`   imei,blocked_since,reasons            (every blocked IMEI)
- `grey.csv`    imei,first_seen,deadline,reasons       (every IMEI in its grace period)
- `delta.csv`   list,change,imei,since,deadline,reasons — since the previous generation:
                change ∈ added/removed/changed for list ∈ black/grey;
- `notifications-<OPERATOR>.csv` msisdn,imei,deadline,deadline_date,kind (see notifications.py);
- `manifest.json` with every file's row count and SHA-256.
The delta reads only the `status_changes` rows after the previous generation's high-water mark
(an index range on the primary key), never the full lists. On PostgreSQL the generation holds a
SHARE lock on `status_changes` so that the high-water mark and the files agree exactly (writers
wait for the generation to finish; readers do not). Times are ISO 8601 in UTC (`Z`).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, func, select, text

from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.services.list_files import CsvOut, iso_utc
from tizim.services.notifications import NotificationPlan, days_covered, operator_notifications
from tizim.services.orgs import Role, list_organisations
from tizim.storage.schema import imeis, status_changes
from tizim.storage.tables_operator import list_generations

FOR_EVERY_OPERATOR = "*"
_DELTA_LISTS = (ListName.BLACK.value, ListName.GREY.value)


@dataclass(frozen=True)
class ListFile:
    name: str
    rows: int
    sha256: str
    audience: str  # FOR_EVERY_OPERATOR, or the one operator's code (notification lists)
    seconds: float = 0.0

    def as_manifest(self) -> dict[str, object]:
        return {"name": self.name, "rows": self.rows, "sha256": self.sha256, "for": self.audience}


@dataclass(frozen=True)
class Generation:
    id: int
    generated_at: datetime
    previous_id: int | None
    changes_high_water: int
    directory: Path
    files: tuple[ListFile, ...]

    def manifest(self) -> dict[str, object]:
        return {
            "generation": self.id,
            "generated_at": iso_utc(self.generated_at),
            "previous_generation": self.previous_id,
            "status_changes_up_to": self.changes_high_water,
            "files": [entry.as_manifest() for entry in self.files],
        }

    def file(self, name: str) -> ListFile | None:
        return next((entry for entry in self.files if entry.name == name), None)


def generate_lists(
    conn: Connection,
    outdir: Path,
    *,
    now: datetime,
    rules: Rules,
    plan: NotificationPlan,
    compress: bool = False,
) -> Generation:
    """Write a new generation of list files and record it; returns what was written."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE status_changes IN SHARE MODE"))
    high_water = int(conn.execute(select(func.coalesce(func.max(status_changes.c.id), 0))).scalar())
    previous = conn.execute(
        select(
            list_generations.c.id,
            list_generations.c.changes_high_water,
            list_generations.c.generated_at,
        )
        .order_by(list_generations.c.id.desc())
        .limit(1)
    ).first()
    generation_id = int(
        conn.execute(
            list_generations.insert()
            .values(
                generated_at=now,
                previous_id=previous.id if previous else None,
                changes_high_water=high_water,
                directory="",
                manifest="{}",
            )
            .returning(list_generations.c.id)
        ).scalar_one()
    )
    final = outdir / f"generation-{generation_id:06d}"
    work = outdir / f".generation-{generation_id:06d}.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    suffix = ".csv.gz" if compress else ".csv"
    files = [
        _timed(
            work / f"black{suffix}",
            FOR_EVERY_OPERATOR,
            ("imei", "blocked_since", "reasons"),
            _black_rows(conn),
        ),
        _timed(
            work / f"grey{suffix}",
            FOR_EVERY_OPERATOR,
            ("imei", "first_seen", "deadline", "reasons"),
            _grey_rows(conn),
        ),
        _timed(
            work / f"delta{suffix}",
            FOR_EVERY_OPERATOR,
            ("list", "change", "imei", "since", "deadline", "reasons"),
            _delta_rows(conn, previous.changes_high_water if previous else 0, high_water),
        ),
    ]
    days = days_covered(now, previous.generated_at if previous else None, rules)
    for operator in list_organisations(conn, role=Role.OPERATOR):
        notifications = (
            (n.msisdn, n.imei, iso_utc(n.deadline), n.deadline_date.isoformat(), n.kind.value)
            for n in operator_notifications(conn, operator, days=days, rules=rules, plan=plan)
        )
        files.append(
            _timed(
                work / f"notifications-{operator.code}{suffix}",
                operator.code,
                ("msisdn", "imei", "deadline", "deadline_date", "kind"),
                notifications,
            )
        )
    generation = Generation(
        generation_id, now, previous.id if previous else None, high_water, final, tuple(files)
    )
    (work / "manifest.json").write_text(json.dumps(generation.manifest(), indent=2) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    work.rename(final)
    conn.execute(
        list_generations.update()
        .where(list_generations.c.id == generation_id)
        .values(directory=str(final.resolve()), manifest=json.dumps(generation.manifest()))
    )
    return generation


def latest_generation(conn: Connection) -> Generation | None:
    newest = select(func.max(list_generations.c.id)).scalar_subquery()
    return _generation_where(conn, list_generations.c.id == newest)


def get_generation(conn: Connection, generation_id: int) -> Generation | None:
    return _generation_where(conn, list_generations.c.id == generation_id)


def _generation_where(conn: Connection, condition: object) -> Generation | None:
    row = conn.execute(select(list_generations).where(condition)).first()  # type: ignore[arg-type]
    if row is None or not row.directory:
        return None
    manifest = json.loads(row.manifest)
    files = tuple(
        ListFile(entry["name"], entry["rows"], entry["sha256"], entry["for"])
        for entry in manifest["files"]
    )
    return Generation(
        row.id,
        row.generated_at,
        row.previous_id,
        row.changes_high_water,
        Path(row.directory),
        files,
    )


def _timed(path: Path, audience: str, header: tuple[str, ...], rows: Iterable[object]) -> ListFile:
    started = time.perf_counter()
    with CsvOut(path, header) as out:
        out.write_rows(rows)  # type: ignore[arg-type]
    return ListFile(path.name, out.rows, out.sha256, audience, time.perf_counter() - started)


def _pg_iso(column: str) -> str:
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"


def _black_rows(conn: Connection) -> Iterator[tuple[str, ...]] | Iterator[bytes]:
    if conn.dialect.name == "postgresql":
        return _copy_out(
            conn,
            f"SELECT imei, {_pg_iso('list_since')}, reasons FROM imeis"
            " WHERE list = 'black' ORDER BY imei",
        )
    query = (
        select(imeis.c.imei, imeis.c.list_since, imeis.c.reasons)
        .where(imeis.c.list == ListName.BLACK.value)
        .order_by(imeis.c.imei)
    )
    return (
        (imei, iso_utc(since), reasons)
        for imei, since, reasons in conn.execution_options(yield_per=10_000).execute(query)
    )


def _grey_rows(conn: Connection) -> Iterator[tuple[str, ...]] | Iterator[bytes]:
    if conn.dialect.name == "postgresql":
        return _copy_out(
            conn,
            f"SELECT imei, {_pg_iso('first_seen_at')}, {_pg_iso('grace_deadline')}, reasons"
            " FROM imeis WHERE list = 'grey' ORDER BY imei",
        )
    query = (
        select(imeis.c.imei, imeis.c.first_seen_at, imeis.c.grace_deadline, imeis.c.reasons)
        .where(imeis.c.list == ListName.GREY.value)
        .order_by(imeis.c.imei)
    )
    rows = conn.execution_options(yield_per=10_000).execute(query)
    return (
        (imei, iso_utc(first), iso_utc(deadline), reasons)
        for imei, first, deadline, reasons in rows
    )


def _copy_out(conn: Connection, query: str) -> Iterator[bytes]:
    """PostgreSQL formats the CSV itself: `COPY (query) TO STDOUT`, streamed in blocks."""
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
        for block in copy:
            yield bytes(block)


def _delta_rows(conn: Connection, after: int, up_to: int) -> Iterator[tuple[str, ...]]:
    """added/removed/changed per list, from the changes in (after, up_to] only."""
    span = (
        select(
            status_changes.c.imei,
            func.min(status_changes.c.id).label("first_id"),
            func.max(status_changes.c.id).label("last_id"),
        )
        .where(status_changes.c.id > after, status_changes.c.id <= up_to)
        .group_by(status_changes.c.imei)
        .subquery("span")
    )
    first = status_changes.alias("first_change")
    last = status_changes.alias("last_change")
    earlier = status_changes.alias("earlier")
    # `id + 0`: ordering by the bare id tempts the planner to walk the primary key backwards
    # through all history for each IMEI; this way it takes the IMEI's few rows by its index.
    reasons_before = (
        select(earlier.c.reasons)
        .where(earlier.c.imei == span.c.imei, earlier.c.id < span.c.first_id)
        .order_by((earlier.c.id + 0).desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(
            span.c.imei,
            first.c.from_list,
            reasons_before.label("reasons_before"),
            last.c.to_list,
            last.c.reasons,
            imeis.c.list_since,
            imeis.c.grace_deadline,
        )
        .select_from(
            span.join(first, first.c.id == span.c.first_id)
            .join(last, last.c.id == span.c.last_id)
            .join(imeis, imeis.c.imei == span.c.imei)
        )
        .order_by(span.c.imei)
    )
    for imei, before, before_reasons, after_list, reasons, since, deadline in conn.execute(query):
        for name in _DELTA_LISTS:
            change = _change(name, before, before_reasons, after_list, reasons)
            if change is None:
                continue
            yield (
                name,
                change,
                imei,
                iso_utc(since) if change != "removed" else "",
                iso_utc(deadline) if name == ListName.GREY.value and change != "removed" else "",
                reasons if change != "removed" else "",
            )


def _change(
    name: str, before: str | None, before_reasons: str | None, after: str, reasons: str
) -> str | None:
    if before != name and after == name:
        return "added"
    if before == name and after != name:
        return "removed"
    if (
        before == name
        and after == name
        and (name == ListName.GREY.value or before_reasons != reasons)
    ):
        return "changed"
    return None
