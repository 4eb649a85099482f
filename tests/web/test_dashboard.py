"""Dashboard numbers per Almaty day, on both databases: list sizes over time, blocks,
applications, refusal reasons and fees."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.interfaces.application_helpers import TAC_OTHER, make_imei
from tests.web.portal_world import NOW, build_world
from tizim.adapters.reference_state import reference_registries
from tizim.runtime import Runtime
from tizim.services.dashboard_stats import dashboard
from tizim.services.decisions import staff_decide
from tizim.services.facts import Fact, FactKind, record_facts, record_sighting

ALMATY = ZoneInfo("Asia/Almaty")


def test_list_sizes_and_blocks_per_local_day(registry: Runtime) -> None:
    rules = registry.rules
    first, second = make_imei(TAC_OTHER, 7), make_imei(TAC_OTHER, 8)
    # 00:30 in Almaty on 18 November is still 17 November in UTC: the day must be Almaty's.
    seen = datetime(2025, 11, 18, 0, 30, tzinfo=ALMATY)
    blocked_at = datetime(2025, 11, 19, 23, 30, tzinfo=ALMATY)
    with registry.transaction() as conn:
        for number, imei in enumerate((first, second)):
            record_sighting(
                conn,
                imei=imei,
                operator="KCELL",
                imsi=f"4010200000000{number}",
                msisdn=f"770100000{number}",
                seen_at=seen,
                now=seen,
                rules=rules,
            )
        record_facts(
            conn,
            [Fact(first, FactKind.GSMA_BLACKLIST_ADD, "gsma", blocked_at)],
            now=blocked_at,
            rules=rules,
            source="gsma",
        )
        found = dashboard(conn, now=datetime(2025, 11, 20, 12, tzinfo=ALMATY), rules=rules, days=4)
    assert [day.isoformat() for day in found.days] == [
        "2025-11-17",
        "2025-11-18",
        "2025-11-19",
        "2025-11-20",
    ]
    assert found.list_sizes["grey"] == [0, 2, 1, 1]
    assert found.list_sizes["black"] == [0, 0, 1, 1]
    assert found.blocked_per_day == [0, 0, 1, 0]
    assert found.current.lists["grey"].imeis == 1


def test_applications_refusal_reasons_and_fees(registry: Runtime, tmp_path: Path) -> None:
    world = build_world(registry, tmp_path)
    with registry.transaction() as conn:
        staff_decide(
            conn,
            world.queued,
            verdict="refuse",
            staff="aigerim",
            now=NOW,
            rules=registry.rules,
            registries=reference_registries(conn, registry.rules),
            note="photo of the declaration unreadable",
        )
        found = dashboard(conn, now=NOW, rules=registry.rules, days=7)
    assert found.submitted_per_day == [0, 0, 0, 0, 0, 0, 1]
    assert found.refused_per_day[-1] == 1 and sum(found.approved_per_day) == 0
    assert found.refusal_reasons == [("REFUSED_BY_STAFF", 1)]
    assert found.fees_per_day[-1] == 3932 and found.fees_total == 3932
