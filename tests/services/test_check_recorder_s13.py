"""S13 checks of IMEIs the index holds: queued by the inlined hot path, folded in bulk."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tizim.clock import FixedClock
from tizim.runtime import Runtime
from tizim.services.check_recorder import CheckRecorder
from tizim.services.realtime_checks import OperatorDirectory, RealtimeChecks
from tizim.services.status_index import StatusIndex
from tizim.storage.schema import sightings

ALMATY = ZoneInfo("Asia/Almaty")
KNOWN, OTHER = "490154203237518", "353879234252633"
AT = datetime(2026, 1, 10, 14, tzinfo=ALMATY)


def test_known_imeis_checked_many_times_fold_into_first_and_last(registry: Runtime) -> None:
    clock = FixedClock(AT)
    index = StatusIndex(registry.rules, clock)
    index.set(KNOWN, "white", None)
    index.set(OTHER, "black", None)
    recorder = CheckRecorder(registry.engine, registry.rules, clock)
    directory = OperatorDirectory({"mme.kcell.kz": "KCELL"}, {"40177": "TELE2"})
    checks = RealtimeChecks(index, recorder, directory)
    for minutes in (0, 5, 30):
        clock.set(AT + timedelta(minutes=minutes))
        assert checks.equipment_status(KNOWN, "01", "401011111111111", "mme.kcell.kz") == "white"
        assert checks.equipment_status(OTHER, None, "401771234567890", "epc.x.kz") == "black"
    assert recorder.queued == 6
    assert recorder.flush() == 2  # two distinct IMEI-operator-IMSI
    clock.set(AT + timedelta(hours=2))
    checks.equipment_status(KNOWN, "01", "401011111111111", "mme.kcell.kz")
    assert recorder.flush() == 1
    with registry.engine.connect() as conn:
        rows = {(r.imei, r.operator): r for r in conn.execute(select(sightings))}
    assert set(rows) == {(KNOWN, "KCELL"), (OTHER, "TELE2")}
    assert rows[(KNOWN, "KCELL")].first_seen_at == AT
    assert rows[(KNOWN, "KCELL")].last_seen_at == AT + timedelta(hours=2)
    assert rows[(OTHER, "TELE2")].first_seen_at == AT
    assert rows[(OTHER, "TELE2")].last_seen_at == AT + timedelta(minutes=30)
