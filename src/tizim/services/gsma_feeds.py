"""GSMA feeds: the TAC database (full replace with a diff) and, re-exported, the blacklist.

The TAC file (`tac,brand,model,device_type,sim_slots`) replaces the whole table. The report
counts added, removed and changed models; then every stored IMEI whose verdict depends on the
table is re-evaluated set-based: one whose TAC became known loses UNKNOWN_TAC, one whose TAC
vanished gets it; other invalid reasons are never touched. A row that cannot be read is
skipped, and if its TAC itself is readable that TAC keeps its current entry: a damaged line
must not silently remove a model. A file with no usable row is refused, since an empty table
would switch the UNKNOWN_TAC rule off.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    SmallInteger,
    String,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.services.csv_input import FileRefused, RowError, UploadReport, csv_rows
from tizim.services.feed_common import finish, new_report, same_as_latest_full
from tizim.services.gsma_blacklist import load_gsma_blacklist
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import imeis, tacs
from tizim.storage.staging import RowWriter, staging_table

__all__ = ["load_gsma_blacklist", "load_tac_database"]

TAC_KIND = "tac"
TAC_COLUMNS = ("tac", "brand", "model", "device_type", "sim_slots")
DETAIL_COLUMNS = ("brand", "model", "device_type", "sim_slots")


def load_tac_database(
    conn: Connection,
    path: Path,
    *,
    now: datetime,
    rules: Rules,
    loaded_by: str | None,
    bad_row_threshold: float = 0.05,
    file_name: str | None = None,
) -> UploadReport:
    """Replace the TAC table with the file; counts: tacs_added/removed/changed, imeis_*."""
    report = new_report(TAC_KIND, path, file_name)
    earlier = same_as_latest_full(conn, report)
    if earlier is not None:
        report.duplicate_of = earlier
        return finish(conn, report, organisation=None, loaded_by=loaded_by, now=now)
    with (
        staging_table(
            conn,
            "stage_tacs",
            Column("tac", String(8), primary_key=True),
            Column("brand", String(100)),
            Column("model", String(200)),
            Column("device_type", String(50)),
            Column("sim_slots", SmallInteger),
        ) as staged,
        staging_table(conn, "stage_tacs_kept", Column("tac", String(8), primary_key=True)) as kept,
        staging_table(
            conn, "stage_tac_imeis", Column("imei", String(15), primary_key=True)
        ) as touched,
    ):
        # A COPY that fails mid-stream aborts the transaction on PostgreSQL: a savepoint keeps
        # it usable for recording the refusal.
        savepoint = conn.begin_nested() if conn.dialect.name == "postgresql" else None
        try:
            _stage_file(conn, path, report, staged, kept)
            report.refuse_if_too_bad(bad_row_threshold)
            if report.rows_accepted == 0:
                raise FileRefused("the file has no usable TAC row: the table is left as it is")
        except FileRefused as refusal:
            if savepoint is not None:
                savepoint.rollback()
            report.refused, report.refusal = True, str(refusal)
            return finish(conn, report, organisation=None, loaded_by=loaded_by, now=now)
        if savepoint is not None:
            savepoint.commit()
        report.counts = _replace_table(conn, staged, kept)
        report.counts.update(_reevaluate_imeis(conn, touched, now=now, rules=rules))
    return finish(conn, report, organisation=None, loaded_by=loaded_by, now=now)


def _stage_file(
    conn: Connection, path: Path, report: UploadReport, staged: Table, kept: Table
) -> None:
    seen: set[str] = set()
    kept_tacs: set[str] = set()
    with csv_rows(path, TAC_COLUMNS) as rows, RowWriter(conn, staged, TAC_COLUMNS) as out:
        for line, row in rows:
            report.rows_total += 1
            found = _read_row(line, row, seen)
            if isinstance(found, RowError):
                report.add_error(found)
                tac = row.get("tac", "")
                if len(tac) == 8 and tac.isdigit() and tac not in seen:
                    kept_tacs.add(tac)
                continue
            seen.add(found[0])
            out.write(found)
            report.rows_accepted += 1
    kept_tacs -= seen
    with RowWriter(conn, kept, ("tac",)) as out:
        out.write_many((tac,) for tac in sorted(kept_tacs))


def _read_row(
    line: int, row: dict[str, str], seen: set[str]
) -> tuple[str, str, str, str, int] | RowError:
    if None in row:
        return RowError(line, None, "EXTRA_FIELDS", "the row has more fields than the header")
    tac = row["tac"]
    if len(tac) != 8 or not tac.isascii() or not tac.isdigit():
        return RowError(line, "tac", "BAD_TAC", f"{tac!r} is not an 8-digit TAC")
    if tac in seen:
        return RowError(line, "tac", "DUPLICATE_TAC", f"TAC {tac} appears twice in the file")
    for column, limit in (("brand", 100), ("model", 200), ("device_type", 50)):
        if not row[column] or len(row[column]) > limit:
            return RowError(line, column, "BAD_VALUE", f"{column} must be 1-{limit} characters")
    slots = row["sim_slots"]
    if slots not in ("1", "2", "3", "4"):
        return RowError(line, "sim_slots", "BAD_SIM_SLOTS", f"sim_slots {slots!r} is not 1-4")
    return tac, row["brand"], row["model"], row["device_type"], int(slots)


def _replace_table(conn: Connection, staged: Table, kept: Table) -> dict[str, int]:
    in_file = exists().where(staged.c.tac == tacs.c.tac)
    is_kept = exists().where(kept.c.tac == tacs.c.tac)
    current = tacs.alias("current")
    differs = or_(*(staged.c[name] != current.c[name] for name in DETAIL_COLUMNS))
    changed = conn.execute(
        select(func.count())
        .select_from(staged)
        .join(current, current.c.tac == staged.c.tac)
        .where(differs)
    ).scalar_one()
    removed = conn.execute(delete(tacs).where(~in_file, ~is_kept)).rowcount
    conn.execute(
        update(tacs)
        .where(tacs.c.tac == staged.c.tac)
        .values({name: staged.c[name] for name in DETAIL_COLUMNS})
    )
    added = conn.execute(
        select(func.count()).select_from(staged).where(~exists().where(tacs.c.tac == staged.c.tac))
    ).scalar_one()
    conn.execute(
        insert(tacs).from_select(
            list(staged.c.keys()),
            select(staged).where(~exists().where(tacs.c.tac == staged.c.tac)),
        )
    )
    total = conn.execute(select(func.count()).select_from(tacs)).scalar_one()
    return {
        "tacs_added": added,
        "tacs_removed": removed,
        "tacs_changed": changed,
        "tacs_total": total,
    }


def _reevaluate_imeis(
    conn: Connection, touched: Table, *, now: datetime, rules: Rules
) -> dict[str, int]:
    """UNKNOWN_TAC follows the new table; other invalid reasons are left alone."""
    tac_known = exists().where(tacs.c.tac == func.substr(imeis.c.imei, 1, 8))
    unknown = Reason.UNKNOWN_TAC.value
    conn.execute(
        insert(touched).from_select(
            ["imei"],
            select(imeis.c.imei).where(
                or_(
                    and_(imeis.c.invalid_reason == unknown, tac_known),
                    and_(imeis.c.invalid_reason.is_(None), ~tac_known),
                )
            ),
        )
    )
    which = imeis.c.imei.in_(select(touched.c.imei))
    now_unknown = conn.execute(
        select(func.count()).select_from(imeis).where(which, imeis.c.invalid_reason.is_(None))
    ).scalar_one()
    total = conn.execute(select(func.count()).select_from(touched)).scalar_one()
    conn.execute(
        update(imeis)
        .where(which)
        .values(invalid_reason=case((imeis.c.invalid_reason.is_(None), unknown), else_=None))
    )
    changed = refresh_statuses(conn, which, now=now, rules=rules, source="tac-database")
    return {
        "imeis_now_unknown_tac": now_unknown,
        "imeis_tac_now_known": total - now_unknown,
        "list_changes": changed,
    }
