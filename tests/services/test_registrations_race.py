"""A registration racing a transaction that inserts one of its IMEIs (PostgreSQL only).

New IMEIs go in by a plain INSERT; when another transaction inserts one of them meanwhile, the
INSERT fails on the primary key and the load falls back to `INSERT … ON CONFLICT`. The other
transaction here holds its new row uncommitted until the load is seen waiting on it.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.services.feeds_support import DUAL_TAC, NOW, add_org, imei, listed, write_csv
from tizim.runtime import Runtime
from tizim.services.csv_input import UploadReport
from tizim.services.facts import record_sighting
from tizim.services.orgs import Role
from tizim.services.registrations import register_devices


def test_an_imei_inserted_meanwhile_is_registered_all_the_same(
    registry: Runtime, tmp_path: Path
) -> None:
    if registry.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no such race")
    add_org(registry, "IMP-A", Role.IMPORTER)
    raced, other = imei(DUAL_TAC, 90), imei(DUAL_TAC, 91)
    path = write_csv(
        tmp_path / "a.csv",
        "device_ref,imei,brand,model,document,registered_on",
        f"D1,{raced},A,B,DT,2026-02-01",
        f"D2,{other},A,B,DT,2026-02-01",
    )
    reports: list[UploadReport] = []
    failures: list[BaseException] = []

    def load() -> None:
        try:
            _load()
        except BaseException as error:  # shown by the test, not lost in the thread
            failures.append(error)

    def _load() -> None:
        with registry.transaction() as conn:
            reports.append(
                register_devices(
                    conn,
                    path,
                    organisation="IMP-A",
                    now=NOW,
                    rules=registry.rules,
                    bad_row_threshold=0.5,
                )
            )

    with registry.transaction() as rival:
        record_sighting(
            rival,
            imei=raced,
            operator="KCELL",
            imsi="401021234567890",
            msisdn="77011234567",
            seen_at=NOW - timedelta(days=1),
            now=NOW,
            rules=registry.rules,
        )
        loader = threading.Thread(target=load)
        loader.start()
        with registry.engine.connect() as watcher:  # until the load waits on the rival's row
            for _ in range(600):  # 30 s: the machine may be busy
                waiting = watcher.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()"
                    )
                ).scalar_one()
                watcher.rollback()  # pg_stat_activity is read once per transaction
                if waiting or failures:
                    break
                time.sleep(0.05)
        assert not failures and waiting, failures or "the load never waited on the rival's row"
    loader.join(timeout=60)
    assert reports and reports[0].counts["imeis_registered"] == 2
    assert listed(registry, raced) == ("white", ("TRUSTED_SOURCE",))
    assert listed(registry, other) == ("white", ("TRUSTED_SOURCE",))
