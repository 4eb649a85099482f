"""Reading the CSV files outsiders send: streamed, gzip or plain, with line-numbered errors.

Every upload (operator observations, trusted registrations, feeds) goes through here, so the
rules of FORMATS.md hold the same everywhere: UTF-8 (a BOM is tolerated), comma-separated,
header line with exact column names in any order, optionally gzip-compressed. Line numbers
are the file's own: the header is line 1.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

GZIP_MAGIC = b"\x1f\x8b"
MAX_ERRORS_KEPT = 10_000
"""Errors beyond this many are counted, not listed: the report stays readable and bounded."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message": self.message,
        }


class FileRefused(Exception):
    """The whole file is refused: nothing of it is stored. `report` says why."""

    def __init__(self, message: str, report: UploadReport | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class UploadReport:
    """What happened to one uploaded file, row by row; stored with the upload record."""

    kind: str
    file_name: str
    sha256: str
    rows_total: int = 0
    rows_accepted: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0
    refused: bool = False
    refusal: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    duplicate_of: int | None = None
    upload_id: int | None = None  # this file's `uploads` row, once recorded

    @property
    def rows_rejected(self) -> int:
        return self.errors_total

    def add_error(self, error: RowError) -> None:
        self.errors_total += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(error)

    def forget_rows(self) -> None:
        """Start the row counts again: the file is about to be read a second way."""
        self.rows_total = self.errors_total = 0
        self.errors.clear()

    def bad_share(self) -> float:
        return self.errors_total / self.rows_total if self.rows_total else 0.0

    def refuse_if_too_bad(self, threshold: float) -> None:
        """All-or-nothing above the threshold of malformed rows (FORMATS.md, issue rules)."""
        if self.rows_total and self.bad_share() > threshold:
            self.refused = True
            self.refusal = (
                f"{self.errors_total} of {self.rows_total} rows are malformed"
                f" ({self.bad_share():.1%} > {threshold:.1%}): the file is refused whole"
            )
            raise FileRefused(self.refusal, self)

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "file_name": self.file_name,
            "sha256": self.sha256,
            "rows_total": self.rows_total,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "refused": self.refused,
            "refusal": self.refusal,
            "counts": self.counts,
            "duplicate_of": self.duplicate_of,
            "errors": [error.as_dict() for error in self.errors],
            "errors_listed": len(self.errors),
        }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def binary_stream(path: Path) -> Iterator[IO[bytes]]:
    """The file's bytes, decompressed if it is gzip (recognised by its magic number)."""
    with path.open("rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    with gzip.open(path, "rb") if compressed else path.open("rb") as binary:
        yield binary


@contextmanager
def _text_stream(path: Path) -> Iterator[IO[str]]:
    with binary_stream(path) as binary:
        yield io.TextIOWrapper(binary, encoding="utf-8-sig", newline="", errors="strict")


@contextmanager
def csv_rows(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Iterator[Iterator[tuple[int, dict[str, str]]]]:
    """Yield (line number, row) pairs; refuse the file if its header lacks a required column.

    A row with the wrong number of fields is yielded with the missing columns as "" and the
    extra fields under the key None, so the caller reports it with its line number.
    """
    try:
        with _text_stream(path) as text:
            reader = csv.reader(text)
            try:
                header = [name.strip() for name in next(reader)]
            except StopIteration:
                raise FileRefused("the file is empty: a header line is required") from None
            missing = [name for name in required if name not in header]
            if missing:
                raise FileRefused(
                    f"the header lacks the column(s) {', '.join(missing)};"
                    f" expected {', '.join(required + optional)}"
                )
            yield _rows(reader, header)
    except UnicodeDecodeError as error:
        raise FileRefused(f"the file is not UTF-8 text ({error.reason})") from None
    except (gzip.BadGzipFile, EOFError) as error:
        raise FileRefused(f"the gzip file is damaged or truncated ({error})") from None
    except csv.Error as error:
        raise FileRefused(f"the file is not valid CSV ({error})") from None


def _rows(reader: csv.Reader, header: list[str]) -> Iterator[tuple[int, dict[str, str]]]:  # type: ignore[name-defined]
    for fields in reader:
        row = row_of_fields(header, fields)
        if row is not None:
            yield reader.line_num, row


def row_of_fields(header: list[str], fields: list[str]) -> dict[str, str] | None:
    """One CSV record as a row: values stripped, missing ones "", extras under the key None.

    None for a blank line, which is not a row.
    """
    if not fields or (len(fields) == 1 and not fields[0].strip()):
        return None
    width = len(header)
    row = dict(zip(header, (value.strip() for value in fields), strict=False))
    if len(fields) < width:
        row.update({name: "" for name in header[len(fields) :]})
    elif len(fields) > width:
        row[None] = ",".join(fields[width:])  # type: ignore[index]
    return row
