"""What every feed loader shares: the report's life cycle, refusal, duplicates, time fields."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, select

from tizim.clock import parse_moment
from tizim.services.csv_input import (
    GZIP_MAGIC,
    FileRefused,
    RowError,
    UploadReport,
    csv_rows,
    file_sha256,
)
from tizim.services.uploads import outcome_of, previous_acceptance, record_upload
from tizim.storage.schema import uploads

ACCEPTED_OUTCOMES = ("accepted", "partially_accepted")
Record = tuple[int, list[str], str | None]  # line, values in the asked order, extra fields


def new_report(kind: str, path: Path, file_name: str | None) -> UploadReport:
    return UploadReport(kind, file_name or path.name, file_sha256(path))


def earlier_delta(conn: Connection, report: UploadReport, organisation: str | None) -> int | None:
    """A delta file (add/remove rows) accepted before: loading it again must change nothing."""
    return previous_acceptance(
        conn, kind=report.kind, organisation=organisation, sha256=report.sha256
    )


def same_as_latest_full(conn: Connection, report: UploadReport) -> int | None:
    """For a full-replace feed only the latest load counts: A, B, A again must apply A again."""
    latest = conn.execute(
        select(uploads.c.id, uploads.c.sha256)
        .where(uploads.c.kind == report.kind, uploads.c.outcome.in_(ACCEPTED_OUTCOMES))
        .order_by(uploads.c.id.desc())
        .limit(1)
    ).first()
    return latest.id if latest is not None and latest.sha256 == report.sha256 else None


def finish(
    conn: Connection,
    report: UploadReport,
    *,
    organisation: str | None,
    loaded_by: str | None,
    now: datetime,
) -> UploadReport:
    record_upload(conn, report, organisation=organisation, uploaded_by=loaded_by, now=now)
    return report


def rewrite_upload(conn: Connection, upload_id: int, report: UploadReport) -> None:
    """An upload row written before its merge (its id tags the rows) gets the final report."""
    conn.execute(
        uploads.update()
        .where(uploads.c.id == upload_id)
        .values(
            outcome=outcome_of(report),
            rows_total=report.rows_total,
            rows_accepted=report.rows_accepted,
            rows_rejected=report.rows_rejected,
            report=json.dumps(report.as_dict(), ensure_ascii=False),
        )
    )


class MomentReader:
    """ISO 8601 or bare date (Asia/Almaty), parsed once per distinct text, never in the future."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.cache: dict[str, datetime] = {}

    def read(self, line: int, column: str, text: str, *, required: bool) -> datetime | RowError:
        if not text:
            if required:
                return RowError(line, column, "MISSING_VALUE", f"{column} is required")
            return self.now
        moment = self.cache.get(text)
        if moment is None:
            try:
                moment = parse_moment(text)
            except ValueError:
                return RowError(line, column, "BAD_TIME", f"{text!r} is not an ISO 8601 time")
            self.cache[text] = moment
        if moment > self.now:
            return RowError(line, column, "FUTURE_TIME", f"{column} {text} is in the future")
        return moment


def extra_fields_error(line: int, row: dict[str, str]) -> RowError | None:
    if None in row:
        return RowError(line, None, "EXTRA_FIELDS", "the row has more fields than the header")
    return None


@contextmanager
def csv_records(path: Path, columns: tuple[str, ...]) -> Iterator[Iterator[Record]]:
    """`csv_rows` for million-row files: (line, values in `columns` order, extra fields).

    Same file rules and refusals as `csv_rows` (which checks the header and maps damaged
    files to `FileRefused`), but rows come as lists, not dicts: a dict per row is a third of
    the Python time of a large registration file. Values are stripped; a short row is padded
    with ""; fields beyond the header come back joined as `extra`, for an EXTRA_FIELDS error.
    """
    with csv_rows(path, columns):
        pass  # the header check and its refusal messages, on the first line only
    try:
        with _text_stream(path) as text:
            reader = csv.reader(text)
            header = [name.strip() for name in next(reader)]
            # The last column of a repeated name wins, as in `csv_rows`' dicts.
            last = {name: index for index, name in enumerate(header)}
            yield _records(reader, header, [last[name] for name in columns])
    except UnicodeDecodeError as error:
        raise FileRefused(f"the file is not UTF-8 text ({error.reason})") from None
    except (gzip.BadGzipFile, EOFError) as error:
        raise FileRefused(f"the gzip file is damaged or truncated ({error})") from None
    except csv.Error as error:
        raise FileRefused(f"the file is not valid CSV ({error})") from None


def _records(reader: Any, header: list[str], wanted: list[int]) -> Iterator[Record]:
    width = len(header)
    for fields in reader:
        if len(fields) == width:
            yield reader.line_num, [fields[index].strip() for index in wanted], None
        elif not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # blank lines are not rows
        elif len(fields) < width:
            padded = fields + [""] * (width - len(fields))
            yield reader.line_num, [padded[index].strip() for index in wanted], None
        else:
            values = [fields[index].strip() for index in wanted]
            yield reader.line_num, values, ",".join(fields[width:])


@contextmanager
def _text_stream(path: Path) -> Iterator[IO[str]]:
    with path.open("rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    with gzip.open(path, "rb") if compressed else path.open("rb") as binary:
        yield io.TextIOWrapper(binary, encoding="utf-8-sig", newline="", errors="strict")
