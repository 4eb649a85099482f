"""The index loaded from the registry and kept current by following `status_changes`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tizim.clock import FixedClock
from tizim.domain.rules import Rules
from tizim.runtime import Runtime
from tizim.services.facts import Fact, FactKind, record_facts, record_sighting
from tizim.services.index_follower import IndexFollower, load_index
from tizim.storage.schema import tacs

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 1, 10, tzinfo=ALMATY)
WHITE, GREY, BLACK = "490154203237518", "356938035643809", "353879234252633"
STALENESS_SECONDS = 5.0  # the documented bound (README)


def fact(imei: str, kind: FactKind) -> Fact:
    return Fact(imei, kind, "test", NOW)


def seed(registry: Runtime) -> None:
    rules = registry.rules
    with registry.transaction() as conn:
        record_facts(
            conn,
            [fact(WHITE, FactKind.TRUSTED_REGISTRATION), fact(BLACK, FactKind.GSMA_BLACKLIST_ADD)],
            now=NOW,
            rules=rules,
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
            rules=rules,
        )


def eventually(condition: Callable[[], bool], within: float = STALENESS_SECONDS) -> bool:
    """Whether `condition` becomes true within `within` seconds (checked every 20 ms)."""
    deadline = time.monotonic() + within
    waiter = threading.Event()
    while time.monotonic() < deadline:
        if condition():
            return True
        waiter.wait(0.02)
    return condition()


def test_the_index_loads_every_list_with_its_deadline(registry: Runtime) -> None:
    seed(registry)
    index, high_water = load_index(registry.engine, registry.rules, FixedClock(NOW))
    assert len(index) == 3 and high_water >= 3
    assert [index.equipment_status(i) for i in (WHITE, GREY, BLACK)] == ["white", "grey", "black"]
    assert index.check(GREY).grace_deadline == datetime(2026, 2, 9, tzinfo=ALMATY)
    assert index.tacs is None  # no TAC database: the UNKNOWN_TAC rule is off


def test_a_stolen_report_reaches_the_index_within_the_staleness_bound(registry: Runtime) -> None:
    seed(registry)
    follower = IndexFollower.load(registry.engine, registry.rules, FixedClock(NOW))
    follower.poll_seconds = 0.1
    follower.start()
    try:
        assert follower.index.equipment_status(WHITE) == "white"
        with registry.transaction() as conn:
            record_facts(
                conn,
                [fact(WHITE, FactKind.STOLEN_REPORTED)],
                now=NOW,
                rules=registry.rules,
                source="police",
            )
        assert eventually(lambda: follower.index.equipment_status(WHITE) == "black")
    finally:
        follower.stop()


def test_new_imeis_and_a_loaded_tac_database_are_picked_up(registry: Runtime) -> None:
    follower = IndexFollower.load(registry.engine, registry.rules, FixedClock(NOW))
    assert follower.index.equipment_status(GREY) == "unknown"
    seed(registry)
    with registry.transaction() as conn:
        conn.execute(
            tacs.insert(),
            [
                {
                    "tac": "49015420",
                    "brand": "B",
                    "model": "M",
                    "device_type": "phone",
                    "sim_slots": 1,
                }
            ],
        )
    follower.poll()
    assert follower.index.equipment_status(GREY) == "grey"
    assert follower.index.check("35693803564381" + "7").reason is not None  # UNKNOWN_TAC now


def test_a_change_committed_late_under_a_lower_id_is_not_missed(registry: Runtime) -> None:
    if registry.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has a single writer: ids are committed in order")
    seed(registry)
    follower = IndexFollower.load(registry.engine, registry.rules, FixedClock(NOW))
    rules: Rules = registry.rules
    slow = registry.engine.connect()
    slow_tx = slow.begin()
    record_facts(slow, [fact(WHITE, FactKind.STOLEN_REPORTED)], now=NOW, rules=rules, source="s")
    with registry.transaction() as conn:  # takes a higher id, commits first
        record_facts(conn, [fact(GREY, FactKind.STOLEN_REPORTED)], now=NOW, rules=rules, source="f")
    follower.poll()
    assert follower.index.equipment_status(GREY) == "black"
    assert follower.index.equipment_status(WHITE) == "white"
    slow_tx.commit()
    slow.close()
    follower.poll()
    assert follower.index.equipment_status(WHITE) == "black"
