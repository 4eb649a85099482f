"""Ingesting operator observation files, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tizim.runtime import Runtime
from tizim.services.clones import CloneRules
from tizim.services.csv_input import UploadReport
from tizim.services.ingest import ingest_observations
from tizim.storage.schema import imeis, sightings, status_changes, tacs, uploads

ALMATY = ZoneInfo("Asia/Almaty")
HEADER = "seen_at,imei,imsi,msisdn,rat"
GOOD = "490154203237518"
OTHER = "356938035643809"
BAD_CHECK_DIGIT = "490154203237519"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ALMATY)


def write(path: Path, *lines: str, compress: bool = False) -> Path:
    content = "\n".join((HEADER, *lines)) + "\n"
    if compress:
        path.write_bytes(gzip.compress(content.encode()))
    else:
        path.write_text(content)
    return path


def ingest(
    registry: Runtime, path: Path, *, operator: str = "KCELL", now: str = "2025-09-20"
) -> UploadReport:
    with registry.transaction() as conn:
        return ingest_observations(
            conn,
            path,
            operator=operator,
            now=at(now),
            rules=registry.rules,
            bad_row_threshold=0.05,
            clone_rules=CloneRules(),
        )


def snapshot(registry: Runtime) -> tuple[list[tuple[object, ...]], ...]:
    with registry.engine.connect() as conn:
        return (
            [tuple(row) for row in conn.execute(select(imeis).order_by(imeis.c.imei))],
            [tuple(row) for row in conn.execute(select(sightings).order_by(*sightings.c))],
            [
                tuple(row)
                for row in conn.execute(select(status_changes).order_by(status_changes.c.id))
            ],
        )


def status_of(registry: Runtime, imei: str) -> tuple[str, str, datetime | None, datetime | None]:
    with registry.engine.connect() as conn:
        row = conn.execute(
            select(
                imeis.c.list, imeis.c.reasons, imeis.c.first_seen_at, imeis.c.grace_deadline
            ).where(imeis.c.imei == imei)
        ).one()
    return row.list, row.reasons, row.first_seen_at, row.grace_deadline


def test_a_sighting_starts_grace_and_an_invalid_imei_is_blocked(
    registry: Runtime, tmp_path: Path
) -> None:
    report = ingest(
        registry,
        write(
            tmp_path / "day.csv",
            f"2025-09-01T10:00:00,{GOOD},401021234567890,77011234567,4G",
            f"2025-09-02T09:00:00,{GOOD},401021234567890,77011234567,4G",
            f"2025-09-01,{BAD_CHECK_DIGIT},401021234567891,+77011234568,",
            f"2025-09-01,{OTHER[:14]},401021234567892,77011234569,",
        ),
    )
    assert (report.rows_total, report.rows_accepted, report.rows_rejected) == (4, 4, 0)
    assert report.counts["imeis_new"] == 3
    listed, reasons, first_seen, deadline = status_of(registry, GOOD)
    assert (listed, reasons) == ("grey", "GRACE_PERIOD")
    assert first_seen == at("2025-09-01T10:00:00")
    assert deadline == at("2025-10-01")
    assert status_of(registry, BAD_CHECK_DIGIT)[:2] == ("black", "INVALID_CHECK_DIGIT")
    assert status_of(registry, OTHER)[0] == "grey"  # 14 digits: the check digit is computed


def test_reingesting_the_same_or_an_overlapping_file_changes_nothing(
    registry: Runtime, tmp_path: Path
) -> None:
    rows = (
        f"2025-09-01T10:00:00,{GOOD},401021234567890,77011234567,4G",
        f"2025-09-03T10:00:00,{GOOD},401021234567890,77011234567,4G",
        f"2025-09-02T10:00:00,{OTHER},401021234567891,77011234568,5G",
    )
    first = ingest(registry, write(tmp_path / "a.csv", *rows))
    before = snapshot(registry)
    again = ingest(registry, write(tmp_path / "a-copy.csv", *rows))
    assert again.duplicate_of is not None and again.rows_accepted == 0
    overlapping = ingest(
        registry,
        write(
            tmp_path / "b.csv",
            rows[1],
            rows[2],
            f"2025-09-02T12:00:00,{GOOD},401021234567890,77011234567,4G",
        ),
    )
    assert overlapping.duplicate_of is None and overlapping.rows_accepted == 3
    assert overlapping.counts["imeis_seen_times_changed"] == 0
    assert overlapping.counts["sightings_new"] == overlapping.counts["sightings_extended"] == 0
    assert overlapping.counts["list_changes"] == 0
    assert snapshot(registry) == before
    with registry.engine.connect() as conn:
        outcomes = conn.execute(select(uploads.c.outcome).order_by(uploads.c.id)).scalars().all()
    assert outcomes == ["accepted", "duplicate", "accepted"]
    assert first.sha256 == again.sha256


def test_a_file_with_too_many_bad_rows_is_refused_and_leaves_nothing(
    registry: Runtime, tmp_path: Path
) -> None:
    report = ingest(
        registry,
        write(
            tmp_path / "bad.csv",
            f"2025-09-01T10:00:00,{GOOD},401021234567890,77011234567,4G",
            f"yesterday,{OTHER},401021234567890,77011234567,4G",
            f"2025-09-01T10:00:00,{OTHER},40102ABC,77011234567,4G",
        ),
    )
    assert report.refused and report.rows_accepted == 0
    assert "2 of 3 rows are malformed" in (report.refusal or "")
    with registry.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(imeis)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(sightings)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(status_changes)).scalar() == 0
        assert conn.execute(select(uploads.c.outcome)).scalars().all() == ["refused"]
    # Once fixed, the same operator's corrected file goes in.
    fixed = ingest(
        registry,
        write(tmp_path / "fixed.csv", f"2025-09-01T10:00:00,{GOOD},401021234567890,77011234567,4G"),
    )
    assert not fixed.refused and status_of(registry, GOOD)[0] == "grey"


def test_a_partly_bad_file_stores_good_rows_and_reports_each_bad_line(
    registry: Runtime, tmp_path: Path
) -> None:
    good = [f"2025-09-01T10:{n:02d}:00,{GOOD},401021234567890,77011234567,4G" for n in range(40)]
    lines = [
        *good[:10],
        f"2025-13-01T10:00:00,{OTHER},401021234567890,77011234567,4G",  # line 12
        *good[10:30],
        "2025-09-01T10:00:00,ABCDEFGHIJKLMNO,401021234567890,77011234567,4G",  # line 33
        *good[30:],
        f"2025-09-01T10:00:00,{OTHER},,77011234567,4G",  # line 44
    ]
    with registry.transaction() as conn:
        report = ingest_observations(
            conn,
            write(tmp_path / "partial.csv", *lines),
            operator="KCELL",
            now=at("2025-09-20"),
            rules=registry.rules,
            bad_row_threshold=0.1,
            clone_rules=CloneRules(),
        )
    assert not report.refused
    assert (report.rows_total, report.rows_accepted, report.rows_rejected) == (43, 40, 3)
    assert [(e.line, e.column, e.code) for e in report.errors] == [
        (12, "seen_at", "BAD_TIMESTAMP"),
        (33, "imei", "INVALID_FORMAT"),
        (44, "imsi", "MISSING_VALUE"),
    ]
    assert status_of(registry, GOOD)[0] == "grey"
    with registry.engine.connect() as conn:
        assert conn.execute(select(imeis.c.imei)).scalars().all() == [GOOD]
        assert conn.execute(select(uploads.c.outcome)).scalar() == "partially_accepted"


def test_gzip_input_gives_the_same_result_as_plain(registry: Runtime, tmp_path: Path) -> None:
    lines = (
        f"2025-09-01T10:00:00,{GOOD},401021234567890,77011234567,4G",
        f"2025-09-02T10:00:00,{OTHER},401021234567891,77011234568,",
    )
    report = ingest(registry, write(tmp_path / "day.csv.gz", *lines, compress=True))
    assert (report.rows_total, report.rows_accepted) == (2, 2)
    assert status_of(registry, OTHER)[2] == at("2025-09-02T10:00:00")


def test_grace_starts_at_the_first_sighting_on_any_operator(
    registry: Runtime, tmp_path: Path
) -> None:
    ingest(
        registry,
        write(
            tmp_path / "beeline.csv", f"2025-09-10T08:00:00,{GOOD},401011111111111,77051111111,4G"
        ),
        operator="BEELINE",
    )
    assert status_of(registry, GOOD)[3] == at("2025-10-10")
    ingest(
        registry,
        write(tmp_path / "kcell.csv", f"2025-09-05T23:30:00,{GOOD},401022222222222,77012222222,4G"),
    )
    ingest(
        registry,
        write(tmp_path / "tele2.csv", f"2025-09-15T08:00:00,{GOOD},401773333333333,77473333333,4G"),
        operator="TELE2",
    )
    listed, _, first_seen, deadline = status_of(registry, GOOD)
    assert first_seen == at("2025-09-05T23:30:00")
    assert deadline == at("2025-10-05")
    assert listed == "grey"
    with registry.engine.connect() as conn:
        operators = (
            conn.execute(select(sightings.c.operator).order_by(sightings.c.operator))
            .scalars()
            .all()
        )
    assert operators == ["BEELINE", "KCELL", "TELE2"]


def test_an_earlier_sighting_of_a_known_imei_moves_its_list_with_history(
    registry: Runtime, tmp_path: Path
) -> None:
    ingest(
        registry,
        write(tmp_path / "a.csv", f"2025-09-10T08:00:00,{GOOD},401011111111111,77051111111,4G"),
        now="2025-10-01",
    )
    later = ingest(
        registry,
        write(tmp_path / "b.csv", f"2025-09-30T08:00:00,{GOOD},401011111111111,77051111111,4G"),
        now="2025-10-01",
    )
    assert later.counts["imeis_seen_times_changed"] == 1
    assert later.counts["list_changes"] == 0  # a later sighting moves no deadline
    assert status_of(registry, GOOD)[3] == at("2025-10-10")
    # An older dump shows the phone before: its grace ended on 5 October, before "now".
    earlier = ingest(
        registry,
        write(tmp_path / "c.csv", f"2025-09-05T08:00:00,{GOOD},401022222222222,77012222222,4G"),
        now="2025-10-08",
    )
    assert earlier.counts["list_changes"] == 1
    listed, _, first_seen, deadline = status_of(registry, GOOD)
    assert (listed, first_seen, deadline) == ("black", at("2025-09-05T08:00:00"), at("2025-10-05"))
    with registry.engine.connect() as conn:
        history = conn.execute(
            select(
                status_changes.c.from_list,
                status_changes.c.to_list,
                status_changes.c.source,
                status_changes.c.changed_at,
            )
            .where(status_changes.c.imei == GOOD)
            .order_by(status_changes.c.id)
        ).all()
    assert [tuple(row[:3]) for row in history] == [
        ("unknown", "grey", "observations:KCELL"),
        ("grey", "black", "observations:KCELL"),
    ]
    assert history[-1].changed_at == at("2025-10-08")
    with registry.engine.connect() as conn:
        since = conn.execute(select(imeis.c.list_since).where(imeis.c.imei == GOOD)).scalar_one()
    assert since == at("2025-10-08")


def test_each_new_imei_is_judged_by_the_authenticity_rules(
    registry: Runtime, tmp_path: Path
) -> None:
    with registry.transaction() as conn:
        conn.execute(
            tacs.insert(),
            [{"tac": GOOD[:8], "brand": "B", "model": "M", "device_type": "phone", "sim_slots": 1}],
        )
    ingest(
        registry,
        write(
            tmp_path / "day.csv",
            f"2025-09-01T10:00:00,{GOOD},401021234567890,77011234567,4G",
            f"2025-09-01T10:00:00,{OTHER},401021234567891,77011234568,4G",  # TAC not in the DB
            "2025-09-01T10:00:00,123456789012345,401021234567892,77011234569,4G",
            "2025-09-01T10:00:00,111111111111111,401021234567893,77011234560,4G",
            f"2025-09-01T10:00:00,{GOOD[:14]}01,401021234567890,77011234567,4G",  # IMEISV
        ),
    )
    assert status_of(registry, GOOD)[:2] == ("grey", "GRACE_PERIOD")
    assert status_of(registry, OTHER)[:2] == ("black", "UNKNOWN_TAC")
    assert status_of(registry, "123456789012345")[:2] == ("black", "RESERVED_IMEI")
    assert status_of(registry, "111111111111111")[:2] == ("black", "RESERVED_IMEI")


def test_a_file_broken_half_way_through_leaves_nothing(registry: Runtime, tmp_path: Path) -> None:
    lines = [f"2025-09-01T10:00:00,{GOOD},4010212345{n:05d},77011234567,4G" for n in range(20_000)]
    whole = write(tmp_path / "whole.csv.gz", *lines, compress=True).read_bytes()
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(whole[: len(whole) * 3 // 4])  # the upload stopped mid-way
    report = ingest(registry, broken)
    assert report.refused and "damaged or truncated" in (report.refusal or "")
    with registry.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sightings)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(imeis)).scalar() == 0
        assert conn.execute(select(uploads.c.outcome)).scalars().all() == ["refused"]
