"""Checks are sightings: the write-behind recorder and what it changes in the registry."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from tests.support.cli import run_tizim
from tizim.clock import FixedClock
from tizim.domain.imei import check_digit
from tizim.runtime import Runtime
from tizim.services.check_recorder import CheckRecorder
from tizim.services.facts import record_sighting
from tizim.services.orgs import Role, create_organisation
from tizim.services.realtime_checks import OperatorDirectory, RealtimeChecks, operator_mcc_mncs
from tizim.services.status_index import StatusIndex
from tizim.storage.schema import imeis, sightings, status_changes

ALMATY = ZoneInfo("Asia/Almaty")
NEW = "356938035643809"
CHECKED_AT = datetime(2026, 1, 10, 14, tzinfo=ALMATY)


def realtime(registry: Runtime, clock: FixedClock) -> RealtimeChecks:
    """Index and recorder without their threads: the test decides when to flush."""
    recorder = CheckRecorder(registry.engine, registry.rules, clock)
    directory = OperatorDirectory({"mme.kcell.kz": "KCELL"}, {"40177": "TELE2"})
    return RealtimeChecks(StatusIndex(registry.rules, clock), recorder, directory)


def test_first_check_of_an_unknown_imei_starts_its_grace_period(
    registry: Runtime, registry_url: str
) -> None:
    clock = FixedClock(CHECKED_AT)
    checks = realtime(registry, clock)
    assert checks.equipment_status(NEW, None, "401771234567890", "epc.tele2.kz") == "unknown"
    assert checks.recorder is not None and checks.recorder.flush() == 1

    shown = run_tizim("check", NEW, "--json", "--now", "2026-01-20", database_url=registry_url)
    assert shown.returncode == 0, shown.stderr
    answer = json.loads(shown.stdout)
    assert (answer["list"], answer["reasons"]) == ("grey", ["GRACE_PERIOD"])
    assert answer["grace_deadline"] == "2026-02-08T19:00:00+00:00"  # 30 days, Almaty midnight
    with registry.engine.connect() as conn:
        row = conn.execute(select(sightings)).one()
        history = conn.execute(
            select(status_changes.c.from_list, status_changes.c.to_list, status_changes.c.source)
        ).all()
    assert (row.imei, row.operator, row.imsi) == (NEW, "TELE2", "401771234567890")
    assert [tuple(change) for change in history] == [("unknown", "grey", "realtime-check:TELE2")]


def test_repeated_checks_fold_into_one_sighting_with_first_and_last_time(
    registry: Runtime,
) -> None:
    clock = FixedClock(CHECKED_AT)
    checks = realtime(registry, clock)
    checks.equipment_status(NEW, None, "401011111111111", "mme.kcell.kz")
    clock.set(datetime(2026, 1, 11, 9, tzinfo=ALMATY))
    checks.equipment_status(NEW[:14], "03", "401011111111111", "mme.kcell.kz")  # IMEISV-less body
    checks.check(NEW, operator="BEELINE", imsi=None)
    assert checks.recorder is not None and checks.recorder.flush() == 2
    with registry.engine.connect() as conn:
        rows = {r.operator: r for r in conn.execute(select(sightings))}
        imei_row = conn.execute(select(imeis).where(imeis.c.imei == NEW)).one()
    assert set(rows) == {"KCELL", "BEELINE"}
    assert rows["KCELL"].first_seen_at == CHECKED_AT
    assert rows["KCELL"].last_seen_at == datetime(2026, 1, 11, 9, tzinfo=ALMATY)
    assert imei_row.first_seen_at == CHECKED_AT and imei_row.list == "grey"


def test_a_check_never_moves_an_earlier_first_sighting(registry: Runtime) -> None:
    earlier = datetime(2026, 1, 2, tzinfo=ALMATY)
    with registry.transaction() as conn:
        record_sighting(
            conn,
            imei=NEW,
            operator="KCELL",
            imsi="401021",
            msisdn="7701",
            seen_at=earlier,
            now=earlier,
            rules=registry.rules,
        )
    checks = realtime(registry, FixedClock(CHECKED_AT))
    checks.equipment_status(NEW, None, None, None)
    assert checks.recorder is not None
    checks.recorder.flush()
    with registry.engine.connect() as conn:
        row = conn.execute(select(imeis).where(imeis.c.imei == NEW)).one()
    assert (row.first_seen_at, row.last_seen_at) == (earlier, CHECKED_AT)


def test_stop_writes_every_queued_sighting(registry: Runtime) -> None:
    clock = FixedClock(CHECKED_AT)
    recorder = CheckRecorder(registry.engine, registry.rules, clock, flush_seconds=3600).start()
    bodies = [f"35693803{n:06d}" for n in range(300)]
    for body in bodies:
        recorder.record(body + check_digit(body), "KCELL", "401021234567890")
    recorder.stop()  # the thread would not have flushed for an hour
    with registry.engine.connect() as conn:
        count = len(conn.execute(select(sightings.c.imei)).all())
    assert count == 300 and recorder.queued == 0


def test_operators_are_known_by_the_mcc_mncs_they_declared(registry: Runtime) -> None:
    with registry.transaction() as conn:
        create_organisation(
            conn, code="KCELL", role=Role.OPERATOR, mcc_mncs=("40102",), now=CHECKED_AT
        )
        create_organisation(conn, code="IMP", role=Role.IMPORTER, now=CHECKED_AT)
    directory = OperatorDirectory({"epc.beeline.kz": "BEELINE"}, operator_mcc_mncs(registry.engine))
    assert directory.for_s13("epc.beeline.kz", "401021234567890") == "BEELINE"
    assert directory.for_s13("epc.other.kz", "401021234567890") == "KCELL"
    assert directory.for_s13("roaming.example", "250011234567890") == "s13:roaming.example"


def test_stop_retries_a_write_the_database_turns_away(registry: Runtime) -> None:
    """At shutdown several processes flush at once; one refused write must not lose checks."""
    clock = FixedClock(CHECKED_AT)
    checks = realtime(registry, clock)
    checks.equipment_status(NEW, None, "401771234567890", "epc.tele2.kz")
    with registry.engine.begin() as conn:  # a real failure: the table is not there for a while
        conn.exec_driver_sql("ALTER TABLE sightings RENAME TO sightings_away")
    restored = threading.Timer(0.4, _restore_sightings, (registry,))
    restored.start()
    try:
        assert checks.recorder is not None
        checks.recorder.stop(retry_seconds=30)
    finally:
        restored.join()
    with registry.engine.connect() as conn:
        assert [row.imei for row in conn.execute(select(sightings))] == [NEW]
    assert checks.recorder.queued == 0


def test_stop_gives_up_after_its_retry_time(registry: Runtime) -> None:
    clock = FixedClock(CHECKED_AT)
    checks = realtime(registry, clock)
    checks.equipment_status(NEW, None, "401771234567890", "epc.tele2.kz")
    with registry.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE sightings RENAME TO sightings_away")
    try:
        assert checks.recorder is not None
        with pytest.raises(DBAPIError):
            checks.recorder.stop(retry_seconds=0.3)
        assert checks.recorder.queued == 1  # kept, not dropped
    finally:
        _restore_sightings(registry)


def _restore_sightings(registry: Runtime) -> None:
    with registry.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE sightings_away RENAME TO sightings")
