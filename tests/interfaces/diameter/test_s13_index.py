"""S13 over real TCP answered by the real status index, with python-diameter as the MME."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.interfaces.diameter.test_s13_server import connect, micr, read_answer
from tizim.clock import FixedClock
from tizim.interfaces.diameter import S13ServerThread
from tizim.runtime import Runtime
from tizim.services.check_recorder import CheckRecorder
from tizim.services.facts import Fact, FactKind, record_facts, record_sighting
from tizim.services.index_follower import load_index
from tizim.services.realtime_checks import OperatorDirectory, RealtimeChecks
from tizim.storage.schema import sightings

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 1, 10, tzinfo=ALMATY)
WHITE, GREY, BLACK, NEW = "490154203237518", "356938035643809", "353879234252633", "356938035643817"


def seed(registry: Runtime) -> None:
    with registry.transaction() as conn:
        record_facts(
            conn,
            [
                Fact(WHITE, FactKind.TRUSTED_REGISTRATION, "t", NOW),
                Fact(BLACK, FactKind.GSMA_BLACKLIST_ADD, "gsma", NOW),
            ],
            now=NOW,
            rules=registry.rules,
            source="test",
        )
        record_sighting(
            conn,
            imei=GREY,
            operator="KCELL",
            imsi="401021",
            msisdn="",
            seen_at=NOW,
            now=NOW,
            rules=registry.rules,
        )


def test_micr_answers_come_from_the_index_and_are_recorded_as_sightings(
    registry: Runtime,
) -> None:
    seed(registry)
    clock = FixedClock(NOW)
    index, _ = load_index(registry.engine, registry.rules, clock)
    recorder = CheckRecorder(registry.engine, registry.rules, clock)
    checks = RealtimeChecks(index, recorder, OperatorDirectory({"operator.kz": "KCELL"}))
    requests = [WHITE, GREY, BLACK, NEW, "490154203237519", WHITE[:14] + "05", "garbage"]
    with S13ServerThread(checks, port=0) as server, connect(server) as sock:
        for hbh, imei in enumerate(requests, start=1):
            sock.sendall(micr(imei, hbh, imsi="401021234567890").as_bytes())
        answers = [read_answer(sock) for _ in requests]
    statuses = [a.equipment_status for a in answers]
    assert statuses == [0, 2, 1, None, 1, 0, 1]
    unknown = answers[3]
    assert unknown.experimental_result.experimental_result_code == 5422
    assert [a.header.hop_by_hop_identifier for a in answers] == list(range(1, 8))

    recorder.flush()
    with registry.engine.connect() as conn:
        recorded = {(r.imei, r.operator) for r in conn.execute(select(sightings))}
    assert (NEW, "KCELL") in recorded and ("490154203237519", "KCELL") in recorded
