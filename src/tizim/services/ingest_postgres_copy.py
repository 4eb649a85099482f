"""The fast way in for an observation file on PostgreSQL: the file's own bytes, straight to COPY.

Why: checking tens of millions of rows one by one in Python costs ~10 µs a row, a hundred
times a plain COPY. Here Python only proves, a megabyte at a time with one C-level regex pass,
that lines have the exact shape the row reader (`ObservationReader`) would accept *unchanged*:
a 15-digit IMEI, digit-only IMSI and MSISDN of allowed lengths, an ISO-looking time, a short
alphanumeric RAT, no quotes, no spaces. Those bytes go to `COPY ... (FORMAT csv)` as they are.
Every other line is handed to the row reader with its line number, exactly as on the row path:
it is reported if malformed, or normalised (14/16-digit IMEI, "+" before the MSISDN, spaces)
and staged. What a shape cannot prove — that a time exists in the calendar and is not in the
future — is judged after the COPY, once per *distinct* `seen_at` text, by the reader itself.

When something cannot be handled here without losing line numbers (a bad or future time, a
quoted field, CR line ends, text that is not UTF-8, an odd header) the fast path *declines*
(`FastPathDeclined`): the caller rolls back to its savepoint and reads the file on the row
path, which reports every line. So the fast path changes how quickly a file is read, never
what is stored or reported.
"""

from __future__ import annotations

import csv
import gzip
import re
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tizim.services.csv_input import RowError, UploadReport, binary_stream, row_of_fields
from tizim.services.ingest_postgres import PostgresObservationStage, copy_spill_into
from tizim.services.observations import REQUIRED_COLUMNS, Observation, ObservationReader

RAW = "tizim_obs_raw"
MOMENTS = "tizim_obs_moments"
CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 1 << 16
_BOM = b"\xef\xbb\xbf"

_SHAPES = {
    "seen_at": rb"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    rb"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?",
    "imei": rb"[0-9]{15}",
    "imsi": rb"[0-9]{6,15}",
    "msisdn": rb"[0-9]{5,15}",
    "rat": rb"[A-Za-z0-9]{0,8}",
}
_OTHER_COLUMN = rb"[ !#-+\--~]*"  # printable ASCII without comma or quote: read, then ignored

Progress = Callable[[int], None]
DAMAGED_GZIP = (gzip.BadGzipFile, EOFError, zlib.error)


class FastPathDeclined(Exception):
    """This file needs the row path (the message says why, for the logs)."""


class PostgresCopyStage(PostgresObservationStage):
    """Staging of the file's columns as text; times judged per distinct value after COPY."""

    def __init__(self, conn: Any, header: list[str]) -> None:
        super().__init__(conn)
        self.header = header
        self._column = {name: f"c{index}" for index, name in enumerate(header)}

    def open(self) -> None:
        self.drop()
        columns = ", ".join(f"{name} text" for name in self._column.values())
        self.conn.execute(text(f"CREATE TEMPORARY TABLE {RAW} ({columns})"))
        self._start_copy(f"COPY {RAW} FROM STDIN WITH (FORMAT csv)")

    def write_bytes(self, lines: bytes) -> None:
        """Complete CSV lines in the file's column order, each ending with a newline."""
        self._copy.write(lines)

    def write(self, row: Observation) -> None:
        """A row the reader normalised, as a CSV line in the file's column order."""
        values = {
            "seen_at": row.seen_at.isoformat(),
            "imei": row.imei,
            "imsi": row.imsi,
            "msisdn": row.msisdn,
            "rat": row.rat or "",
        }
        self._copy.write(",".join(values.get(name, "") for name in self.header) + "\n")

    def close_writer(self) -> None:
        self._end_copy()

    def settle_moments(self, reader: ObservationReader) -> None:
        """Judge each distinct `seen_at` text once; decline the file if one is not believable."""
        seen_at = self._column["seen_at"]
        raw = self.conn.connection.driver_connection
        assert raw is not None
        with tempfile.TemporaryFile("w+b") as spill:
            query = f"COPY (SELECT DISTINCT {seen_at} FROM {RAW}) TO STDOUT"
            with raw.cursor() as cursor, cursor.copy(query) as copy:
                pending = b""
                for block in copy:
                    lines = (pending + bytes(block)).split(b"\n")
                    pending = lines.pop()
                    for line in lines:
                        moment = reader.moment(line.decode())
                        if moment is None or not reader.believable(moment):
                            raise FastPathDeclined(f"seen_at {line[:40]!r} needs the row path")
                        spill.write(line + b"\t" + moment.isoformat().encode() + b"\n")
            copy_spill_into(self.conn, MOMENTS, "seen_at text, at timestamptz", spill)

    def triplets_query(self) -> str:
        column = self._column
        rat = f"max(r.{column['rat']})" if "rat" in column else "NULL::text"
        return (
            f"SELECT r.{column['imei']} AS imei, r.{column['imsi']} AS imsi,"
            f" r.{column['msisdn']} AS msisdn, min(m.at) AS first_seen_at,"
            f" max(m.at) AS last_seen_at, {rat} AS rat, NULL::text AS invalid_reason"
            f" FROM {RAW} r JOIN {MOMENTS} m ON m.seen_at = r.{column['seen_at']}"
            " GROUP BY 1, 2, 3"
        )

    def drop(self) -> None:
        super().drop()
        for name in (RAW, MOMENTS):
            self.conn.execute(text(f"DROP TABLE IF EXISTS pg_temp.{name}"))


class FileScreen:
    """Streams one file into a `PostgresCopyStage`, proving line shapes a chunk at a time."""

    def __init__(
        self,
        path: Path,
        reader: ObservationReader,
        report: UploadReport,
        progress: Progress | None,
    ) -> None:
        self.path = path
        self.reader = reader
        self.report = report
        self.progress = progress
        self.line = 1  # the header

    def open(self, conn: Any) -> PostgresCopyStage:
        """Read the header and open the stage; decline a header the row path should judge."""
        try:
            with binary_stream(self.path) as stream:
                first = stream.readline(MAX_LINE_BYTES)
        except DAMAGED_GZIP:
            raise FastPathDeclined("damaged gzip") from None
        if first.startswith(_BOM):
            first = first[len(_BOM) :]
        if not first.endswith(b"\n") or b"\r" in first:
            raise FastPathDeclined("no plain header line")
        try:
            header = [name.strip() for name in next(csv.reader([first[:-1].decode("utf-8")]))]
        except (UnicodeDecodeError, StopIteration, csv.Error):
            raise FastPathDeclined("the header is not plain CSV") from None
        if len(set(header)) != len(header) or any(c not in header for c in REQUIRED_COLUMNS):
            raise FastPathDeclined("the header has duplicate or missing columns")
        shape = b",".join(_SHAPES.get(name, _OTHER_COLUMN) for name in header)
        self._line_shape = re.compile(shape)
        self._chunk_shape = re.compile(rb"^" + shape + rb"\n", re.MULTILINE)
        self.header = header
        self.stage = PostgresCopyStage(conn, header)
        return self.stage

    def stream(self) -> None:
        """Every line after the header into the stage; bad lines into the report."""
        try:
            self._stream()
        except DAMAGED_GZIP:
            raise FastPathDeclined("damaged gzip") from None
        self.stage.close_writer()

    def _stream(self) -> None:
        with binary_stream(self.path) as stream:
            done = len(stream.readline(MAX_LINE_BYTES))  # the header, read by `open`
            pending = b""
            for block in iter(lambda: stream.read(CHUNK_BYTES), b""):
                data = pending + block
                cut = data.rfind(b"\n") + 1
                pending = data[cut:]
                if len(pending) > MAX_LINE_BYTES:  # not an observation line: keep memory flat
                    raise FastPathDeclined("a line of more than 64 KiB")
                if cut:
                    self._chunk(data[:cut])
                done += len(block)
                if self.progress is not None:
                    self.progress(done)
            if pending:
                self._chunk(pending + b"\n")

    def _chunk(self, data: bytes) -> None:
        rest, matched = self._chunk_shape.subn(b"", data)
        if not rest:  # the common case: every line proven, the bytes go as they are
            self.stage.write_bytes(data)
            self.report.rows_total += matched
            self.line += matched
            return
        proven: list[bytes] = []
        for line in data.split(b"\n")[:-1]:
            self.line += 1
            if self._line_shape.fullmatch(line):
                proven.append(line)
                self.report.rows_total += 1
            else:
                self._read_one(line)
        if proven:
            proven.append(b"")
            self.stage.write_bytes(b"\n".join(proven))

    def _read_one(self, line: bytes) -> None:
        if b'"' in line or b"\r" in line:
            raise FastPathDeclined("quoted fields or CR line ends")
        if len(line) > csv.field_size_limit():  # the csv module refuses such a file
            raise FastPathDeclined("a field longer than the CSV limit")
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError:
            raise FastPathDeclined("text that is not UTF-8") from None
        row = row_of_fields(self.header, decoded.split(","))
        if row is None:
            return  # a blank line is not a row
        self.report.rows_total += 1
        observed = self.reader.read(self.line, row)
        if isinstance(observed, RowError):
            self.report.add_error(observed)
        else:
            self.stage.write(observed)
