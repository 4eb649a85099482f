"""The GSMA blacklist feed: add/remove deltas, or a full file turned into deltas.

File: `imei,action,reason,reported_at`. In a delta file the last row for an IMEI wins. A full
file (`full=True`) lists every IMEI GSMA blacklists now (action `add` only): IMEIs in it and
not yet listed become adds, IMEIs listed and missing from it become removes. Only deltas that
change something become facts (GSMA_BLACKLIST_ADD/REMOVE) and touch the lists; the current
set lives in `gsma_blacklist`, mirrored by the IMEI's `gsma_blacklisted` flag.
"""

from __future__ import annotations

from datetime import datetime
from itertools import islice
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    String,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from tizim.domain.imei import read_imei
from tizim.domain.rules import Rules
from tizim.services.csv_input import FileRefused, RowError, UploadReport, csv_rows
from tizim.services.facts import FactKind, ensure_imeis
from tizim.services.feed_common import (
    MomentReader,
    earlier_delta,
    extra_fields_error,
    finish,
    new_report,
    same_as_latest_full,
)
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import imei_facts, imeis
from tizim.storage.staging import RowWriter, staging_table
from tizim.storage.tables_orgs import gsma_blacklist
from tizim.storage.types import UtcDateTime

KIND = "gsma-blacklist"
KIND_FULL = "gsma-blacklist-full"
COLUMNS = ("imei", "action", "reason", "reported_at")
REASONS = frozenset({"stolen", "lost", "law_enforcement", "other"})
SOURCE = "GSMA"
_Entry = tuple[str, str | None, datetime]  # action, reason, reported_at


def load_gsma_blacklist(
    conn: Connection,
    path: Path,
    *,
    now: datetime,
    rules: Rules,
    loaded_by: str | None,
    full: bool = False,
    bad_row_threshold: float = 0.05,
    file_name: str | None = None,
) -> UploadReport:
    """Apply a GSMA blacklist file; counts: added, removed, already_listed, not_listed, …"""
    report = new_report(KIND_FULL if full else KIND, path, file_name)
    earlier = same_as_latest_full(conn, report) if full else earlier_delta(conn, report, None)
    if earlier is not None:
        report.duplicate_of = earlier
        return finish(conn, report, organisation=None, loaded_by=loaded_by, now=now)
    try:
        entries = _read_file(path, report, now, rules, full=full)
        report.refuse_if_too_bad(bad_row_threshold)
    except FileRefused as refusal:
        report.refused, report.refusal = True, str(refusal)
        return finish(conn, report, organisation=None, loaded_by=loaded_by, now=now)
    adds = (imei for imei, entry in entries.items() if entry[0] == "add")
    while chunk := list(islice(adds, 20_000)):
        ensure_imeis(conn, chunk, now=now, rules=rules)
    with staging_table(
        conn,
        "stage_gsma",
        Column("imei", String(15), primary_key=True),
        Column("action", String(8)),
        Column("reason", String(32)),
        Column("reported_at", UtcDateTime),
        Column("effective", Boolean),
    ) as staged:
        with RowWriter(conn, staged, ("imei", "action", "reason", "reported_at")) as out:
            out.write_many((imei, *entry) for imei, entry in entries.items())
        if full:
            _removes_for_missing(conn, staged, now)
        report.counts = _apply(conn, staged, now=now, rules=rules)
    return finish(conn, report, organisation=None, loaded_by=loaded_by, now=now)


def _read_file(
    path: Path, report: UploadReport, now: datetime, rules: Rules, *, full: bool
) -> dict[str, _Entry]:
    entries: dict[str, _Entry] = {}
    moments = MomentReader(now)
    with csv_rows(path, COLUMNS) as rows:
        for line, row in rows:
            report.rows_total += 1
            found = extra_fields_error(line, row) or _read_row(line, row, moments, rules, full)
            if isinstance(found, RowError):
                report.add_error(found)
                continue
            imei, entry = found
            entries.pop(imei, None)  # re-insert: the dict keeps the order of the last rows
            entries[imei] = entry
            report.rows_accepted += 1
    return entries


def _read_row(
    line: int, row: dict[str, str], moments: MomentReader, rules: Rules, full: bool
) -> tuple[str, _Entry] | RowError:
    reading = read_imei(row["imei"], rules.reserved_tac_prefixes)
    if reading.imei is None:  # a bad check digit is still an IMEI GSMA may block
        return RowError(line, "imei", "INVALID_FORMAT", f"{row['imei']!r} is not an IMEI")
    action = row["action"].lower()
    if action not in ("add", "remove") or (full and action != "add"):
        allowed = "add (a full file lists current entries)" if full else "add or remove"
        return RowError(line, "action", "BAD_ACTION", f"action {row['action']!r}: use {allowed}")
    reason = row["reason"].lower() or None
    if (action == "add" or reason) and reason not in REASONS:
        return RowError(
            line, "reason", "BAD_REASON", f"reason {row['reason']!r}: one of {sorted(REASONS)}"
        )
    moment = moments.read(line, "reported_at", row["reported_at"], required=False)
    if isinstance(moment, RowError):
        return moment
    return reading.imei, (action, reason, moment)


def _removes_for_missing(conn: Connection, staged: Table, now: datetime) -> None:
    """A full file: every listed IMEI it does not mention is removed."""
    conn.execute(
        insert(staged).from_select(
            ["imei", "action", "reason", "reported_at"],
            select(
                gsma_blacklist.c.imei,
                literal("remove"),
                literal(None, String),
                literal(now, UtcDateTime),
            ).where(~exists().where(staged.c.imei == gsma_blacklist.c.imei)),
        )
    )


def _apply(conn: Connection, staged: Table, *, now: datetime, rules: Rules) -> dict[str, int]:
    listed = exists().where(gsma_blacklist.c.imei == staged.c.imei)
    is_add = staged.c.action == "add"
    conn.execute(update(staged).values(effective=or_(and_(is_add, ~listed), and_(~is_add, listed))))
    counts: dict[str, int] = dict(
        conn.execute(
            select(
                case(
                    (and_(is_add, staged.c.effective), "added"),
                    (is_add, "already_listed"),
                    (staged.c.effective, "removed"),
                    else_="not_listed",
                ).label("outcome"),
                func.count(),
            ).group_by("outcome")
        ).all()
    )
    effective = staged.c.effective.is_(True)
    conn.execute(
        insert(imei_facts).from_select(
            ["imei", "kind", "source", "reference", "occurred_at", "recorded_at"],
            select(
                staged.c.imei,
                case(
                    (is_add, FactKind.GSMA_BLACKLIST_ADD.value),
                    else_=FactKind.GSMA_BLACKLIST_REMOVE.value,
                ),
                literal(SOURCE),
                staged.c.reason,
                staged.c.reported_at,
                literal(now, UtcDateTime),
            ).where(effective),
        )
    )
    conn.execute(
        delete(gsma_blacklist).where(
            gsma_blacklist.c.imei.in_(select(staged.c.imei).where(effective, ~is_add))
        )
    )
    conn.execute(
        insert(gsma_blacklist).from_select(
            ["imei", "reason", "reported_at", "loaded_at"],
            select(
                staged.c.imei, staged.c.reason, staged.c.reported_at, literal(now, UtcDateTime)
            ).where(effective, is_add),
        )
    )
    conn.execute(
        update(imeis)
        .where(imeis.c.imei == staged.c.imei, effective)
        .values(gsma_blacklisted=is_add)
    )
    changed = refresh_statuses(
        conn,
        imeis.c.imei.in_(select(staged.c.imei).where(effective)),
        now=now,
        rules=rules,
        source="gsma-blacklist",
    )
    outcomes = ("added", "removed", "already_listed", "not_listed")
    return {**{name: int(counts.get(name, 0)) for name in outcomes}, "list_changes": changed}
