"""The two ways an observation file is read store and report exactly the same.

On PostgreSQL a file whose lines can be proven by shape goes to COPY as raw bytes; other lines
are read one by one, and a file that needs it (a time in the future, quoting) is read entirely
row by row. These tests hold both ways to the same stored rows and the same line-numbered report.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text

from tests.services.test_ingest import GOOD, OTHER, at
from tizim.runtime import Runtime
from tizim.services.clones import CloneRules
from tizim.services.ingest import ingest_observations
from tizim.storage.schema import imei_facts, imeis, sightings, status_changes, uploads

HEADER = "seen_at,imei,imsi,msisdn,rat"
DECLINED = "takes the row path"

# Good lines of every kind the row reader normalises, bad lines of every kind it reports.
MIXED = [
    "2025-09-10T08:00:00,490154203237518,401021234567890,77011234567,4G",
    "2025-09-10T09:00:00,49015420323751,401021234567890,77011234567,4G",  # 14 digits
    "2025-09-11T09:00:00,4901542032375199,401021234567891,+77011234568,",  # IMEISV, +
    " 2025-09-12T10:00:00 , 356938035643809 ,401771234567890, 77771234567 ,5G",  # spaces
    "",  # a blank line is not a row
    "2025-09-12T10:00:00,490154203237519,401011234567892,77011234569,3G",  # bad check digit
    "2025-09-12T10:00:00,00101000000001,401011234567893,77011234560,3G",  # test TAC
    "2025-09-13T10:00:00+05:00,356938035643809,401021234567899,77011234500,4G",
    "2025-09-13,358240051111110,401021234567898,77011234501,LTE",  # a bare date
    "2025-09-13T10:00:00,35824005111111X,401021234567898,77011234501,4G",  # not an IMEI
    "2025-09-13T10:00:00,358240051111110,40102ABC,77011234501,4G",  # bad IMSI
    "2025-9-13T10:00:00,358240051111110,401021234567898,77011234501,4G",  # not ISO 8601
    "2025-09-13T10:00:00,358240051111110,401021234567898,77011234501,4G,extra",
    "2025-09-13T10:00:00,358240051111110,401021234567898",  # fields missing
]


def write(path: Path, lines: list[str], *, newline: str = "\n") -> Path:
    path.write_bytes((newline.join([HEADER, *lines]) + newline).encode())
    return path


def ingest(registry: Runtime, path: Path, threshold: float = 0.9) -> dict[str, object]:
    with registry.transaction() as conn:
        report = ingest_observations(
            conn,
            path,
            operator="KCELL",
            now=at("2025-09-20"),
            rules=registry.rules,
            bad_row_threshold=threshold,
            clone_rules=CloneRules(),
        )
    result = report.as_dict()
    for key in ("sha256", "file_name"):
        result.pop(key)
    return result


def stored(registry: Runtime) -> tuple[list[tuple[object, ...]], ...]:
    with registry.engine.connect() as conn:
        return (
            [tuple(row) for row in conn.execute(select(imeis).order_by(imeis.c.imei))],
            [tuple(row) for row in conn.execute(select(sightings).order_by(*sightings.c))],
            sorted(
                tuple(row)[1:]  # without the id
                for row in conn.execute(select(status_changes))
            ),
        )


def forget_everything(registry: Runtime) -> None:
    with registry.transaction() as conn:
        for table in (status_changes, sightings, imei_facts, imeis, uploads):
            conn.execute(delete(table))


def test_the_copy_path_and_the_row_path_store_and_report_the_same(
    registry: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tizim.services.ingest")
    plain = write(tmp_path / "plain.csv", MIXED)
    report_plain = ingest(registry, plain)
    declined_plain = DECLINED in caplog.text
    stored_plain = stored(registry)

    forget_everything(registry)
    caplog.clear()
    # The same rows, one good field quoted: only the row path reads quoted CSV.
    quoted = write(tmp_path / "quoted.csv", [MIXED[0].replace(",4G", ',"4G"'), *MIXED[1:]])
    report_quoted = ingest(registry, quoted)

    assert report_plain == report_quoted
    assert stored_plain == stored(registry)
    assert [(e["line"], e["column"], e["code"]) for e in report_plain["errors"]] == [  # type: ignore[attr-defined]
        (11, "imei", "INVALID_FORMAT"),
        (12, "imsi", "BAD_IMSI"),
        (13, "seen_at", "BAD_TIMESTAMP"),
        (14, None, "TOO_MANY_FIELDS"),
        (15, "msisdn", "MISSING_VALUE"),
    ]
    assert report_plain["rows_total"] == 13 and report_plain["rows_accepted"] == 8
    listed = {row[0]: (row[-4], row[-3]) for row in stored_plain[0]}
    assert listed["490154203237519"] == ("black", "INVALID_CHECK_DIGIT")
    assert listed["490154203237518"][0] == "grey"
    if registry.engine.dialect.name == "postgresql":
        assert not declined_plain  # proven lines by COPY, the others read one by one
        assert DECLINED in caplog.text


def test_a_time_in_the_future_is_reported_with_its_line(registry: Runtime, tmp_path: Path) -> None:
    lines = [
        f"2025-09-1{n % 9}T08:00:00,{GOOD},40102123456789{n % 10},7701123456{n % 10},4G"
        for n in range(30)
    ]
    lines[20] = f"2025-09-30T08:00:00,{OTHER},401021234567890,77011234567,4G"  # after "now"
    report = ingest(registry, write(tmp_path / "future.csv", lines))
    assert [(e["line"], e["code"]) for e in report["errors"]] == [(22, "IN_FUTURE")]  # type: ignore[attr-defined]
    assert report["rows_accepted"] == 29
    assert [row[0] for row in stored(registry)[0]] == [GOOD]


def test_line_numbers_hold_across_chunks_and_line_ends(registry: Runtime, tmp_path: Path) -> None:
    """Bad lines far apart in a file of several megabytes, with LF and with CRLF line ends."""
    lines = [
        f"2025-09-1{n % 9}T08:{n % 60:02d}:00,35693803{n % 1000000:06d}0,401021{n:09d},77{n:09d},4G"
        for n in range(60_000)
    ]
    bad = {7: "imsi", 31_000: "msisdn", 59_999: "imsi"}
    for index, column in bad.items():
        if column == "imsi":
            lines[index] = lines[index].replace(",401021", ",4010X1")
        else:
            lines[index] = lines[index].replace(",77", ",7a")
    for newline in ("\n", "\r\n"):
        forget_everything(registry)
        report = ingest(registry, write(tmp_path / "big.csv", lines, newline=newline))
        errors = [(e["line"], e["column"]) for e in report["errors"]]  # type: ignore[attr-defined]
        assert errors == [(index + 2, column) for index, column in bad.items()]
        assert report["rows_total"] == 60_000 and report["rows_accepted"] == 59_997


def test_an_imei_another_transaction_inserts_meanwhile_keeps_our_sightings(
    registry: Runtime, tmp_path: Path
) -> None:
    """A new IMEI of the file inserted by someone else first: its sightings are still merged.

    On PostgreSQL the other transaction commits while the load waits on its row, which makes
    the load's plain INSERT fail and its conflict-proof statements take over. SQLite has one
    writer at a time, so there the other insert simply comes first.
    """
    path = write(
        tmp_path / "race.csv",
        [
            f"2025-09-10T08:00:00,{GOOD},401021234567890,77011234567,4G",
            f"2025-09-11T08:00:00,{OTHER},401021234567891,77011234568,4G",
        ],
    )
    trusted = {
        "imei": GOOD,
        "trusted_source": True,
        "list": "white",
        "reasons": "TRUSTED_SOURCE",
        "list_since": at("2025-09-01"),
    }
    if registry.engine.dialect.name != "postgresql":
        with registry.transaction() as conn:
            conn.execute(imeis.insert().values(**trusted))
        report = ingest(registry, path)
    else:
        other = registry.engine.connect()
        other.begin()
        other.execute(imeis.insert().values(**trusted))
        outcome: dict[str, object] = {}
        loader = threading.Thread(target=lambda: outcome.update(ingest(registry, path)))
        loader.start()
        waited = 0.0
        with registry.engine.connect() as watcher:
            while (
                waited < 20
                and not watcher.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                ).scalar_one()
            ):
                time.sleep(0.05)
                waited += 0.05
        other.commit()
        other.close()
        loader.join(timeout=60)
        report = outcome
        assert waited < 20, "the load never waited on the other transaction's row"
    assert report["counts"]["imeis_new"] == 1  # type: ignore[index]
    rows = {row[0]: row for row in stored(registry)[0]}
    assert rows[GOOD][3] == at("2025-09-10T08:00:00")  # first_seen_at from the file
    assert (rows[GOOD][-4], rows[OTHER][-4]) == ("white", "grey")
    assert sorted(row[0] for row in stored(registry)[1]) == sorted([GOOD, OTHER])


def test_odd_but_valid_files_are_read_the_same_way_on_both_paths(
    registry: Runtime, tmp_path: Path
) -> None:
    """Header only, no newline at the end, a BOM, columns in another order with an extra one."""
    header_only = tmp_path / "header-only.csv"
    header_only.write_bytes(HEADER.encode() + b"\n")
    report = ingest(registry, header_only)
    assert (report["refused"], report["rows_total"]) == (False, 0)

    reordered = tmp_path / "reordered.csv"
    reordered.write_bytes(
        b"\xef\xbb\xbfimsi,note,imei,seen_at,msisdn\n"
        + f"401021234567890,first phone,{GOOD},2025-09-10T08:00:00,77011234567\n".encode()
        + f"401021234567891,,{OTHER},2025-09-11T08:00:00,77011234568".encode()  # no newline
    )
    report = ingest(registry, reordered)
    assert (report["rows_total"], report["rows_accepted"], report["errors"]) == (2, 2, [])
    rows = {row[0]: row for row in stored(registry)[0]}
    assert rows[OTHER][3] == at("2025-09-11T08:00:00")
    assert sorted(row[2] for row in stored(registry)[1]) == ["401021234567890", "401021234567891"]


def test_a_line_too_long_to_be_an_observation_is_refused_by_the_row_path(
    registry: Runtime, tmp_path: Path
) -> None:
    path = tmp_path / "long.csv"
    path.write_bytes(
        (HEADER + "\n" + MIXED[0] + "\n").encode() + b"9" * 200_000 + b"\n" + MIXED[0].encode()
    )
    report = ingest(registry, path)
    assert report["refused"] is True and "CSV" in str(report["refusal"])
    assert stored(registry)[0] == []
