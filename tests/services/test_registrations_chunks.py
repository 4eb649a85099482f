"""Large registration files are checked and merged in chunks (PostgreSQL): same result as whole.

Chunks are made tiny here so that a small file spans several; on SQLite the file is merged
whole, and the same assertions hold.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.services.feeds_support import DUAL_TAC, NOW, add_org, imei, listed, write_csv
from tizim.clock import parse_moment
from tizim.runtime import Runtime
from tizim.services import registrations
from tizim.services.csv_input import UploadReport
from tizim.services.history import imei_history
from tizim.services.orgs import Role
from tizim.services.registrations import register_devices
from tizim.storage.schema import devices, imeis, status_changes, uploads
from tizim.storage.tables_orgs import registration_conflicts
from tizim.storage.tables_orgs import registrations as registration_rows

HEADER = "device_ref,imei,brand,model,document,registered_on"


@pytest.fixture(autouse=True)
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registrations, "FIRST_CHUNK_ROWS", 1)
    monkeypatch.setattr(registrations, "MOST_CHUNK_ROWS", 2)


def register(registry: Runtime, path: Path, org: str, threshold: float = 0.5) -> UploadReport:
    with registry.transaction() as conn:
        return register_devices(
            conn, path, organisation=org, now=NOW, rules=registry.rules, bad_row_threshold=threshold
        )


def count(registry: Runtime, table: object) -> int:
    with registry.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_file_of_many_chunks_adds_up_like_one(registry: Runtime, tmp_path: Path) -> None:
    add_org(registry, "IMP-A", Role.IMPORTER)
    add_org(registry, "IMP-B", Role.IMPORTER)
    phones = [imei(DUAL_TAC, n) for n in range(40, 52)]
    register(registry, write_csv(tmp_path / "b.csv", HEADER, f"B1,{phones[0]},A,B,DT-B,"), "IMP-B")
    register(registry, write_csv(tmp_path / "a0.csv", HEADER, f"A0,{phones[1]},A,B,DT-A,"), "IMP-A")
    path = write_csv(
        tmp_path / "a.csv",
        HEADER,
        f"D1,{phones[0]},A,B,DT-1,2026-02-01",  # registered by IMP-B: a conflict
        f"D1,{phones[2]},A,B,DT-1,2026-02-01",
        f"D2,{phones[1]},A,B,DT-1,2026-02-01",  # IMP-A's own, registered before
        f"D3,{phones[3]},A,B,DT-1,2026-02-01",
        f"D3,{phones[4]},A,B,DT-1,2026-02-01",
        "D4,not-an-imei,A,B,DT-1,2026-02-01",  # line 7
        f"D5,{phones[6]},A,B,DT-1,2026-02-01",
        f"D6,{phones[3]},A,B,DT-1,2026-02-01",  # line 9: D3's IMEI, two chunks earlier
        f"D7,{phones[7]},A,B,DT-1,2026-02-01",
    )
    switch_interval = sys.getswitchinterval()
    report = register(registry, path, "IMP-A")
    assert sys.getswitchinterval() == switch_interval  # the pipeline's quicker one is undone
    assert report.counts == {
        "devices_accepted": 5,
        "devices_created": 4,  # D2 had only a known IMEI
        "imeis_registered": 5,
        "imeis_already_registered": 1,
        "conflicts": 1,
        "list_changes": 5,
        "devices_rejected": 2,
    }
    codes = {error.line: error.code for error in report.errors}
    assert sorted(codes) == [7, 9] and codes[9] == "DUPLICATE_IMEI"
    for phone in (phones[2], phones[3], phones[4], phones[6], phones[7]):
        assert listed(registry, phone) == ("white", ("TRUSTED_SOURCE",))
    assert count(registry, registration_conflicts) == 1
    assert count(registry, devices) == 6  # 2 from the first loads, 4 from this one
    with registry.engine.connect() as conn:
        upload = conn.execute(select(uploads).order_by(uploads.c.id.desc()).limit(1)).one()
        columns = select(registration_rows.c.imei, registration_rows.c.organisation)
        owners = {row.imei: row.organisation for row in conn.execute(columns)}
    assert (upload.outcome, upload.rows_total, upload.rows_accepted) == ("partially_accepted", 9, 7)
    assert owners[phones[0]] == "IMP-B" and owners[phones[2]] == "IMP-A"


def test_a_refusal_after_merged_chunks_leaves_nothing(registry: Runtime, tmp_path: Path) -> None:
    add_org(registry, "IMP-A", Role.IMPORTER)
    good = [f"D{n},{imei(DUAL_TAC, 60 + n)},A,B,DT,2026-02-01" for n in range(4)]
    path = write_csv(tmp_path / "a.csv", HEADER, *good, *(f"X{n},123,A,B,DT," for n in range(4)))
    report = register(registry, path, "IMP-A", threshold=0.25)
    assert report.refused and "refused whole" in (report.refusal or "")
    for table in (imeis, devices, registration_rows, status_changes):
        assert count(registry, table) == 0
    with registry.engine.connect() as conn:
        upload = conn.execute(select(uploads)).one()
    assert (upload.outcome, upload.rows_total, upload.rows_rejected) == ("refused", 8, 4)


def test_the_registration_is_the_imeis_trusted_registration_fact(
    registry: Runtime, tmp_path: Path
) -> None:
    add_org(registry, "IMP-A", Role.IMPORTER)
    phone = imei(DUAL_TAC, 70)
    register(
        registry, write_csv(tmp_path / "a.csv", HEADER, f"D1,{phone},A,B,DT-9,2026-02-03"), "IMP-A"
    )
    with registry.engine.connect() as conn:
        history = imei_history(conn, phone)
    assert [(f.kind, f.source, f.reference) for f in history.facts] == [
        ("TRUSTED_REGISTRATION", "IMP-A", "DT-9")
    ]
    assert history.facts[0].occurred_at == parse_moment("2026-02-03")
    assert [(c.from_list, c.to_list, c.source) for c in history.changes] == [
        ("unknown", "white", "registration:IMP-A")
    ]


def test_each_report_names_its_own_upload_even_for_the_same_bytes(
    registry: Runtime, tmp_path: Path
) -> None:
    add_org(registry, "IMP-A", Role.IMPORTER)
    add_org(registry, "IMP-B", Role.IMPORTER)
    path = write_csv(tmp_path / "a.csv", HEADER, f"D1,{imei(DUAL_TAC, 80)},A,B,DT,2026-02-01")
    reports = {org: register(registry, path, org) for org in ("IMP-A", "IMP-B")}
    with registry.engine.connect() as conn:
        rows = conn.execute(select(uploads.c.id, uploads.c.organisation))
        owner = {row.id: row.organisation for row in rows}
    assert {org: owner[report.upload_id or 0] for org, report in reports.items()} == {
        "IMP-A": "IMP-A",
        "IMP-B": "IMP-B",
    }
