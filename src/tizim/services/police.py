"""Police stolen reports: a case opens (add) or closes (remove, recovered) per IMEI.

File: `imei,action,case_number,reported_at`. An IMEI is reported stolen while any of its cases
is open, so recovering one case of two keeps it black; when the last case closes the list goes
back to what the other facts give. Police files are small (a few thousand rows): rows are
applied one by one in file order, the flags and lists are then refreshed set-based.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, exists, select, update

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
)
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import imei_facts, imeis
from tizim.storage.tables_orgs import police_cases

KIND = "police"
COLUMNS = ("imei", "action", "case_number", "reported_at")
_Row = tuple[int, str, str, str, datetime]  # line, imei, action, case number, reported at


def load_police_reports(
    conn: Connection,
    path: Path,
    *,
    now: datetime,
    rules: Rules,
    loaded_by: str | None,
    organisation: str | None = None,
    bad_row_threshold: float = 0.05,
    file_name: str | None = None,
) -> UploadReport:
    """Open and close stolen cases; counts: cases_opened, cases_closed, unknown_cases, …"""
    report = new_report(KIND, path, file_name)
    earlier = earlier_delta(conn, report, organisation)
    if earlier is not None:
        report.duplicate_of = earlier
        return finish(conn, report, organisation=organisation, loaded_by=loaded_by, now=now)
    try:
        rows = _read_file(path, report, now, rules)
        report.refuse_if_too_bad(bad_row_threshold)
    except FileRefused as refusal:
        report.refused, report.refusal = True, str(refusal)
        return finish(conn, report, organisation=organisation, loaded_by=loaded_by, now=now)
    ensure_imeis(conn, {row[1] for row in rows if row[2] == "add"}, now=now, rules=rules)
    counts = {"cases_opened": 0, "already_open": 0, "cases_closed": 0, "unknown_cases": 0}
    touched: set[str] = set()
    for line, imei, action, case_number, reported_at in rows:
        outcome = _apply_row(conn, imei, action, case_number, reported_at, organisation, now)
        counts[outcome] += 1
        if outcome in ("cases_opened", "cases_closed"):
            touched.add(imei)
        if outcome == "unknown_cases":
            report.add_error(
                RowError(line, "case_number", "UNKNOWN_CASE", f"no open case {case_number}")
            )
    report.rows_accepted -= counts["unknown_cases"]
    stolen = exists().where(
        police_cases.c.imei == imeis.c.imei, police_cases.c.recovered_at.is_(None)
    )
    which = imeis.c.imei.in_(sorted(touched))
    conn.execute(update(imeis).where(which).values(reported_stolen=stolen))
    counts["list_changes"] = refresh_statuses(conn, which, now=now, rules=rules, source="police")
    report.counts = counts
    return finish(conn, report, organisation=organisation, loaded_by=loaded_by, now=now)


def _read_file(path: Path, report: UploadReport, now: datetime, rules: Rules) -> list[_Row]:
    rows: list[_Row] = []
    moments = MomentReader(now)
    with csv_rows(path, COLUMNS) as found_rows:
        for line, row in found_rows:
            report.rows_total += 1
            found = extra_fields_error(line, row) or _read_row(line, row, moments, rules)
            if isinstance(found, RowError):
                report.add_error(found)
            else:
                rows.append(found)
                report.rows_accepted += 1
    return rows


def _read_row(
    line: int, row: dict[str, str], moments: MomentReader, rules: Rules
) -> _Row | RowError:
    reading = read_imei(row["imei"], rules.reserved_tac_prefixes)
    if reading.imei is None:
        return RowError(line, "imei", "INVALID_FORMAT", f"{row['imei']!r} is not an IMEI")
    action = row["action"].lower()
    if action not in ("add", "remove"):
        return RowError(line, "action", "BAD_ACTION", f"action {row['action']!r}: add or remove")
    case_number = row["case_number"]
    if not case_number or len(case_number) > 100:
        return RowError(line, "case_number", "BAD_CASE", "case_number must be 1-100 characters")
    moment = moments.read(line, "reported_at", row["reported_at"], required=False)
    if isinstance(moment, RowError):
        return moment
    return line, reading.imei, action, case_number, moment


def _apply_row(
    conn: Connection,
    imei: str,
    action: str,
    case_number: str,
    reported_at: datetime,
    organisation: str | None,
    now: datetime,
) -> str:
    key = (police_cases.c.imei == imei, police_cases.c.case_number == case_number)
    case_row = conn.execute(select(police_cases.c.recovered_at).where(*key)).first()
    if action == "add":
        if case_row is not None and case_row.recovered_at is None:
            return "already_open"
        if case_row is None:
            conn.execute(
                police_cases.insert().values(
                    imei=imei,
                    case_number=case_number,
                    organisation=organisation,
                    reported_at=reported_at,
                )
            )
        else:  # a recovered device stolen again under the same case: the case reopens
            conn.execute(
                update(police_cases).where(*key).values(reported_at=reported_at, recovered_at=None)
            )
        kind = FactKind.STOLEN_REPORTED
    else:
        if case_row is None or case_row.recovered_at is not None:
            return "unknown_cases"
        conn.execute(update(police_cases).where(*key).values(recovered_at=reported_at))
        kind = FactKind.STOLEN_RECOVERED
    conn.execute(
        imei_facts.insert().values(
            imei=imei,
            kind=kind.value,
            source=organisation or "POLICE",
            reference=case_number,
            occurred_at=reported_at,
            recorded_at=now,
        )
    )
    return "cases_opened" if action == "add" else "cases_closed"
