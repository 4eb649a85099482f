"""The shared CSV reader: gzip or plain, header checks, line numbers, refusal threshold."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tizim.services.csv_input import FileRefused, RowError, UploadReport, csv_rows

CONTENT = "imei,seen_at\n490154203237518,2025-09-10\n\n356938035643809,2025-09-11,extra\n123\n"


@pytest.mark.parametrize("compressed", [False, True])
def test_rows_come_with_their_line_numbers(tmp_path: Path, compressed: bool) -> None:
    path = tmp_path / ("in.csv.gz" if compressed else "in.csv")
    data = ("\ufeff" + CONTENT).encode()
    path.write_bytes(gzip.compress(data) if compressed else data)
    with csv_rows(path, ("imei", "seen_at")) as rows:
        found = list(rows)
    assert [line for line, _ in found] == [2, 4, 5]
    assert found[0][1] == {"imei": "490154203237518", "seen_at": "2025-09-10"}
    assert found[1][1][None] == "extra"  # type: ignore[index]
    assert found[2][1] == {"imei": "123", "seen_at": ""}


def test_a_missing_column_refuses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("imei,when\n1,2\n")
    with pytest.raises(FileRefused, match="seen_at"), csv_rows(path, ("imei", "seen_at")):
        pass


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "empty"), (b"imei\n\xff\xfe\n", "UTF-8"), (b"\x1f\x8b\x08garbage", "gzip")],
)
def test_unreadable_files_are_refused_with_a_reason(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    with pytest.raises(FileRefused, match=message), csv_rows(path, ("imei",)) as rows:
        list(rows)


def test_threshold_refuses_only_above_the_share() -> None:
    report = UploadReport("observations", "f.csv", "0" * 64, rows_total=20)
    report.add_error(RowError(2, "imei", "INVALID_FORMAT", "not an IMEI"))
    report.refuse_if_too_bad(0.05)  # exactly 5 %: kept
    report.add_error(RowError(3, "imei", "INVALID_FORMAT", "not an IMEI"))
    with pytest.raises(FileRefused):
        report.refuse_if_too_bad(0.05)
    assert report.refused and report.as_dict()["rows_rejected"] == 2
