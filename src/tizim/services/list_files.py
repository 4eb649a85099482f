"""Writing one CSV list file (plain or gzip) while counting its rows; SHA-256 of what is on disk."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from tizim.services.csv_input import file_sha256


def iso_utc(moment: datetime | None) -> str:
    """ISO 8601 in UTC with `Z`, to the second: the time format of every list file."""
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CsvOut:
    """A CSV file being written. Rows are tuples of text, or ready CSV bytes (PostgreSQL COPY).

    gzip files get mtime 0, so the same rows give the same bytes and the same SHA-256.
    """

    def __init__(self, path: Path, header: tuple[str, ...]) -> None:
        self.path = path
        self.header = header
        self.rows = 0
        self.sha256 = ""
        self._raw: IO[bytes] | None = None

    def __enter__(self) -> CsvOut:
        raw: IO[bytes] = self.path.open("wb")
        if self.path.name.endswith(".gz"):
            raw = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=5, mtime=0)  # type: ignore[assignment]
        self._raw = raw
        self._raw.write((",".join(self.header) + "\n").encode())
        return self

    def write_rows(self, rows: Iterable[tuple[str, ...] | bytes]) -> None:
        assert self._raw is not None
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        for row in rows:
            if isinstance(row, bytes):
                self._raw.write(row)
                self.rows += row.count(b"\n")
                continue
            writer.writerow(row)
            self.rows += 1
            if text.tell() > 1 << 16:
                self._raw.write(text.getvalue().encode())
                text.seek(0)
                text.truncate()
        self._raw.write(text.getvalue().encode())

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._raw is not None
        inner = getattr(self._raw, "fileobj", None)
        self._raw.close()
        if inner is not None:
            inner.close()
        if kind is None:
            self.sha256 = file_sha256(self.path)
