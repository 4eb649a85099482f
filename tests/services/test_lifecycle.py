"""An IMEI's life on the lists, through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from tizim.domain.reasons import Reason
from tizim.domain.status import ListName
from tizim.runtime import Runtime
from tizim.services.check import check_imei, stored_status
from tizim.services.facts import Fact, FactKind, record_facts, record_sighting
from tizim.services.history import ImeiHistory, imei_history
from tizim.services.stats import registry_stats
from tizim.services.sweep import sweep
from tizim.storage.schema import imeis, tacs

ALMATY = ZoneInfo("Asia/Almaty")
IMEI = "490154203237518"
OTHER = "356938035643809"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ALMATY)


def see(registry: Runtime, imei: str, when: str, operator: str = "KCELL") -> None:
    with registry.transaction() as conn:
        record_sighting(
            conn,
            imei=imei,
            operator=operator,
            imsi="401021234567890",
            msisdn="77011234567",
            seen_at=at(when),
            now=at(when),
            rules=registry.rules,
        )


def fact(registry: Runtime, kind: FactKind, when: str, imei: str = IMEI) -> None:
    with registry.transaction() as conn:
        record_facts(
            conn,
            [Fact(imei, kind, "TEST-SOURCE", at(when), reference="REF-1")],
            now=at(when),
            rules=registry.rules,
            source=f"test:{kind.value}",
        )


def stored(registry: Runtime, imei: str = IMEI) -> tuple[str, tuple[Reason, ...]]:
    with registry.engine.connect() as conn:
        status = stored_status(conn, imei)
    assert status is not None
    return status.list.value, status.reasons


def history_of(registry: Runtime, imei: str = IMEI) -> ImeiHistory:
    with registry.engine.connect() as conn:
        return imei_history(conn, imei)


def run_sweep(registry: Runtime, when: str) -> int:
    with registry.transaction() as conn:
        return sweep(conn, now=at(when), rules=registry.rules).changed


def test_first_sighting_starts_grace_and_the_sweep_blocks_at_the_deadline(
    registry: Runtime,
) -> None:
    see(registry, IMEI, "2025-09-10T23:30")
    assert stored(registry) == ("grey", (Reason.GRACE_PERIOD,))
    assert run_sweep(registry, "2025-10-09T23:59") == 0
    assert stored(registry) == ("grey", (Reason.GRACE_PERIOD,))
    assert run_sweep(registry, "2025-10-10T00:00") == 1
    assert stored(registry) == ("black", (Reason.GRACE_EXPIRED,))
    assert run_sweep(registry, "2025-10-10T00:05") == 0, "a second sweep changes nothing"
    changes = history_of(registry).changes
    assert [(c.from_list, c.to_list, c.source) for c in changes] == [
        ("unknown", "grey", "sighting:KCELL"),
        ("grey", "black", "sweep"),
    ]


def test_grace_counts_from_the_first_sighting_on_any_operator(registry: Runtime) -> None:
    see(registry, IMEI, "2025-09-20T10:00", operator="BEELINE")
    see(registry, IMEI, "2025-09-10T10:00", operator="KCELL")  # an earlier sighting arrives late
    with registry.engine.connect() as conn:
        result = check_imei(conn, IMEI, now=at("2025-09-25T00:00"), rules=registry.rules)
    assert result.grace_deadline == at("2025-10-10T00:00")


def test_sweep_rechecks_facts_before_blocking(registry: Runtime) -> None:
    see(registry, IMEI, "2025-09-10T10:00")
    see(registry, OTHER, "2025-09-10T10:00")
    # The fact summary changed without a refresh (e.g. a store restored from backup): the sweep
    # must look at the facts, not at the stale list.
    with registry.transaction() as conn:
        conn.execute(update(imeis).where(imeis.c.imei == IMEI).values(verified=True))
    assert run_sweep(registry, "2025-10-11T00:00") == 2
    assert stored(registry, IMEI) == ("white", (Reason.VERIFIED,))
    assert stored(registry, OTHER) == ("black", (Reason.GRACE_EXPIRED,))


def test_enforcement_start_holds_early_expiries_until_18_august(registry: Runtime) -> None:
    see(registry, IMEI, "2025-06-01T12:00")
    assert run_sweep(registry, "2025-08-17T23:00") == 0
    assert stored(registry)[0] == "grey"
    assert run_sweep(registry, "2025-08-18T00:00") == 1
    assert stored(registry)[0] == "black"


def test_grandfathered_devices_stay_white(registry: Runtime) -> None:
    see(registry, IMEI, "2025-05-24T23:59")
    see(registry, OTHER, "2025-05-25T00:00")
    assert stored(registry, IMEI) == ("white", (Reason.GRANDFATHERED,))
    assert stored(registry, OTHER) == ("grey", (Reason.GRACE_PERIOD,))


def test_stolen_overrides_white_and_recovery_restores_it(registry: Runtime) -> None:
    see(registry, IMEI, "2025-09-10T10:00")
    fact(registry, FactKind.TRUSTED_REGISTRATION, "2025-09-11T10:00")
    assert stored(registry) == ("white", (Reason.TRUSTED_SOURCE,))
    fact(registry, FactKind.STOLEN_REPORTED, "2025-10-01T10:00")
    assert stored(registry) == ("black", (Reason.REPORTED_STOLEN,))
    fact(registry, FactKind.STOLEN_RECOVERED, "2025-10-05T10:00")
    assert stored(registry) == ("white", (Reason.TRUSTED_SOURCE,))


def test_removal_from_gsma_blacklist_restores_the_previous_list(registry: Runtime) -> None:
    see(registry, IMEI, "2025-09-10T10:00")
    fact(registry, FactKind.GSMA_BLACKLIST_ADD, "2025-09-12T10:00")
    assert stored(registry) == ("black", (Reason.GSMA_BLACKLISTED,))
    fact(registry, FactKind.GSMA_BLACKLIST_REMOVE, "2025-09-15T10:00")
    assert stored(registry) == ("grey", (Reason.GRACE_PERIOD,))
    history = history_of(registry)
    assert [f.kind for f in history.facts] == ["GSMA_BLACKLIST_ADD", "GSMA_BLACKLIST_REMOVE"]
    assert [c.to_list for c in history.changes] == ["grey", "black", "grey"]


def test_verification_turns_black_into_white(registry: Runtime) -> None:
    see(registry, IMEI, "2025-09-10T10:00")
    run_sweep(registry, "2025-10-11T00:00")
    fact(registry, FactKind.VERIFICATION_APPROVED, "2025-10-12T10:00")
    assert stored(registry) == ("white", (Reason.VERIFIED,))


def test_invalid_imei_seen_in_a_network_is_black(registry: Runtime) -> None:
    see(registry, "490154203237519", "2025-09-10T10:00")
    assert stored(registry, "490154203237519") == ("black", (Reason.INVALID_CHECK_DIGIT,))


def test_unknown_tac_is_black_once_a_tac_database_is_loaded(registry: Runtime) -> None:
    with registry.engine.connect() as conn:
        before = check_imei(conn, IMEI, now=at("2025-10-01T00:00"), rules=registry.rules)
    assert (before.list, before.reasons) == (ListName.UNKNOWN, (Reason.NOT_SEEN,))
    with registry.transaction() as conn:
        conn.execute(
            tacs.insert().values(
                tac="35693803",
                brand="Apple",
                model="iPhone 15",
                device_type="smartphone",
                sim_slots=2,
            )
        )
    with registry.engine.connect() as conn:
        unknown = check_imei(conn, IMEI, now=at("2025-10-01T00:00"), rules=registry.rules)
        known = check_imei(conn, OTHER, now=at("2025-10-01T00:00"), rules=registry.rules)
    assert (unknown.list, unknown.reasons) == (ListName.BLACK, (Reason.UNKNOWN_TAC,))
    assert (known.list, known.device and known.device.model) == (ListName.UNKNOWN, "iPhone 15")
    see(registry, IMEI, "2025-10-02T00:00")
    assert stored(registry, IMEI) == ("black", (Reason.UNKNOWN_TAC,))


def test_check_reads_imeisv_and_fourteen_digits(registry: Runtime) -> None:
    see(registry, IMEI, "2025-09-10T10:00")
    with registry.engine.connect() as conn:
        for raw in ("49015420323751", "4901542032375102"):
            result = check_imei(conn, raw, now=at("2025-09-11T00:00"), rules=registry.rules)
            assert (result.imei, result.list) == (IMEI, ListName.GREY)


def test_stats_count_lists_blocked_today_and_deadline_weeks(registry: Runtime) -> None:
    see(registry, IMEI, "2025-09-10T10:00")
    see(registry, OTHER, "2025-10-01T10:00")
    run_sweep(registry, "2025-10-10T08:00")
    with registry.engine.connect() as conn:
        found = registry_stats(conn, now=at("2025-10-10T12:00"), rules=registry.rules)
        assert conn.execute(select(imeis.c.list).where(imeis.c.imei == OTHER)).scalar() == "grey"
    assert (found.lists[ListName.BLACK].imeis, found.lists[ListName.GREY].imeis) == (1, 1)
    assert found.blocked_today == 1
    # OTHER's deadline is 31 Oct 2025 (Friday): the week of Monday 27 Oct.
    assert found.grace_by_week == {at("2025-10-27T00:00").date(): 1}


def test_facts_in_one_batch_take_effect_in_their_order(registry: Runtime) -> None:
    see(registry, IMEI, "2025-01-10T10:00")
    see(registry, OTHER, "2025-01-10T10:00")
    when = at("2025-10-01T10:00")
    batch = [
        Fact(IMEI, FactKind.GSMA_BLACKLIST_ADD, "GSMA", when),
        Fact(OTHER, FactKind.GSMA_BLACKLIST_ADD, "GSMA", when),
        Fact(IMEI, FactKind.GSMA_BLACKLIST_REMOVE, "GSMA", when),
    ]
    with registry.transaction() as conn:
        changed = record_facts(conn, batch, now=when, rules=registry.rules, source="gsma")
    assert changed == 1
    assert stored(registry, IMEI) == ("white", (Reason.GRANDFATHERED,))
    assert stored(registry, OTHER) == ("black", (Reason.GSMA_BLACKLISTED,))
