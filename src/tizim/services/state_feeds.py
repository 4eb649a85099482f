"""Loading the state registries' files — customs declarations, border crossings, parcels — into
the reference tables the application proofs are checked against (FORMATS.md columns).

Each file is read twice: a first pass counts malformed rows (line-numbered), and only a file
under the bad-row threshold is stored, in a second pass (all or nothing, without holding the
file in memory). The same file (SHA-256) accepted before is reported as a duplicate and not
loaded again. Loading a row again replaces it: a corrected feed wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from tizim.clock import parse_moment
from tizim.domain.iin import iin_problem, normalise_iin
from tizim.domain.imei import read_imei
from tizim.domain.rules import Rules
from tizim.services.csv_input import FileRefused, RowError, UploadReport, csv_rows, file_sha256
from tizim.services.uploads import previous_acceptance, record_upload
from tizim.storage.tables_applications import border_crossings, customs_declarations, parcels

CHUNK = 5000
DEFAULT_BAD_ROW_THRESHOLD = 0.05


class BadRow(ValueError):
    def __init__(self, column: str | None, code: str, message: str) -> None:
        super().__init__(message)
        self.column, self.code = column, code


RowParser = Callable[[dict[str, str], Rules], dict[str, Any]]


def _required(row: dict[str, str], column: str, max_length: int = 200) -> str:
    value = row.get(column, "").strip()
    if not value:
        raise BadRow(column, "MISSING_VALUE", f"{column} is empty")
    if len(value) > max_length:
        raise BadRow(column, "TOO_LONG", f"{column} is longer than {max_length} characters")
    return value


def _iin(row: dict[str, str], column: str) -> str:
    value = _required(row, column)
    problem = iin_problem(value)
    if problem is not None:
        raise BadRow(column, problem.value, f"{column} is not a valid IIN ({problem.value})")
    return normalise_iin(value)


def _date(row: dict[str, str], column: str, rules: Rules) -> date:
    value = _required(row, column)
    try:
        return rules.local_date(parse_moment(value))
    except ValueError:
        raise BadRow(
            column, "INVALID_DATE", f"{column} {value!r} is not an ISO 8601 date"
        ) from None


def _moment(row: dict[str, str], column: str) -> datetime:
    value = _required(row, column)
    try:
        return parse_moment(value)
    except ValueError:
        raise BadRow(
            column, "INVALID_TIME", f"{column} {value!r} is not an ISO 8601 time"
        ) from None


def _customs_row(row: dict[str, str], rules: Rules) -> dict[str, Any]:
    reading = read_imei(_required(row, "imei"), rules.reserved_tac_prefixes)
    if reading.imei is None or not reading.is_valid:
        raise BadRow("imei", str(reading.invalid_reason), f"imei {reading.raw!r} is not valid")
    return {
        "declaration_number": _required(row, "declaration_number", 64),
        "imei": reading.imei,
        "declarant_iin": _iin(row, "declarant_iin"),
        "declared_on": _date(row, "declared_on", rules),
    }


def _border_row(row: dict[str, str], rules: Rules) -> dict[str, Any]:
    direction = _required(row, "direction").lower()
    if direction not in ("entry", "exit"):
        raise BadRow("direction", "INVALID_DIRECTION", f"direction {direction!r}: entry or exit")
    return {
        "iin": _iin(row, "iin"),
        "crossed_at": _moment(row, "crossed_at"),
        "direction": direction,
        "checkpoint": _required(row, "checkpoint", 100),
    }


def _parcel_row(row: dict[str, str], rules: Rules) -> dict[str, Any]:
    return {
        "tracking_number": _required(row, "tracking_number", 64),
        "recipient_iin": _iin(row, "recipient_iin"),
        "delivered_on": _date(row, "delivered_on", rules),
        "description": row.get("description", "").strip(),
    }


FEEDS: dict[str, tuple[Table, tuple[str, ...], RowParser]] = {
    "customs": (
        customs_declarations,
        ("declaration_number", "declarant_iin", "declared_on", "imei"),
        _customs_row,
    ),
    "border": (border_crossings, ("iin", "crossed_at", "direction", "checkpoint"), _border_row),
    "parcels": (
        parcels,
        ("tracking_number", "recipient_iin", "delivered_on", "description"),
        _parcel_row,
    ),
}


def load_customs(
    conn: Connection,
    path: Path,
    *,
    now: datetime,
    rules: Rules,
    loaded_by: str | None,
    bad_row_threshold: float = DEFAULT_BAD_ROW_THRESHOLD,
) -> UploadReport:
    """`declaration_number,declarant_iin,declared_on,imei`: one row per declared IMEI."""
    return _load("customs", conn, path, now, rules, loaded_by, bad_row_threshold)


def load_border(
    conn: Connection,
    path: Path,
    *,
    now: datetime,
    rules: Rules,
    loaded_by: str | None,
    bad_row_threshold: float = DEFAULT_BAD_ROW_THRESHOLD,
) -> UploadReport:
    """`iin,crossed_at,direction,checkpoint`: direction entry/exit."""
    return _load("border", conn, path, now, rules, loaded_by, bad_row_threshold)


def load_parcels(
    conn: Connection,
    path: Path,
    *,
    now: datetime,
    rules: Rules,
    loaded_by: str | None,
    bad_row_threshold: float = DEFAULT_BAD_ROW_THRESHOLD,
) -> UploadReport:
    """`tracking_number,recipient_iin,delivered_on,description`."""
    return _load("parcels", conn, path, now, rules, loaded_by, bad_row_threshold)


def _load(
    kind: str,
    conn: Connection,
    path: Path,
    now: datetime,
    rules: Rules,
    loaded_by: str | None,
    threshold: float,
) -> UploadReport:
    table, columns, parser = FEEDS[kind]
    report = UploadReport(kind, path.name, file_sha256(path))
    earlier = previous_acceptance(conn, kind=kind, organisation=None, sha256=report.sha256)
    if earlier is not None:
        report.duplicate_of = earlier
        record_upload(conn, report, organisation=None, uploaded_by=loaded_by, now=now)
        return report
    try:
        for _ in _parsed(path, columns, parser, rules, report):
            pass
        report.refuse_if_too_bad(threshold)
    except FileRefused as refusal:
        report.refused, report.refusal = True, str(refusal)
        record_upload(conn, report, organisation=None, uploaded_by=loaded_by, now=now)
        return report
    upload_id = record_upload(conn, report, organisation=None, uploaded_by=loaded_by, now=now)
    second_pass = UploadReport(kind, path.name, report.sha256)
    batch: dict[tuple[Any, ...], dict[str, Any]] = {}
    keys = [column.name for column in table.primary_key.columns]
    for values in _parsed(path, columns, parser, rules, second_pass):
        batch[tuple(values[key] for key in keys)] = {**values, "upload_id": upload_id}
        if len(batch) >= CHUNK:
            _upsert(conn, table, list(batch.values()), keys)
            batch.clear()
    _upsert(conn, table, list(batch.values()), keys)
    return report


def _parsed(
    path: Path,
    columns: tuple[str, ...],
    parser: RowParser,
    rules: Rules,
    report: UploadReport,
) -> Iterator[dict[str, Any]]:
    with csv_rows(path, columns) as rows:
        for line, row in rows:
            report.rows_total += 1
            if None in row:
                message = "the row has more fields than the header"
                report.add_error(RowError(line, None, "EXTRA_FIELDS", message))
                continue
            try:
                values = parser(row, rules)
            except BadRow as bad:
                report.add_error(RowError(line, bad.column, bad.code, str(bad)))
                continue
            report.rows_accepted += 1
            yield values


def _upsert(conn: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """Insert or replace by primary key, the same statement on both databases."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    changes = {name: statement.excluded[name] for name in rows[0] if name not in keys}
    conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=changes), rows)
