"""Clone detection from operator sightings, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tizim.runtime import Runtime
from tizim.services.clones import CloneRules, clone_report
from tizim.services.csv_input import UploadReport
from tizim.services.ingest import ingest_observations
from tizim.storage.schema import imei_facts, imeis

ALMATY = ZoneInfo("Asia/Almaty")
IMEI = "490154203237518"
OTHER = "356938035643809"
RULES = CloneRules(imsi_threshold=3, window_days=30)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ALMATY)


def ingest(
    registry: Runtime,
    tmp_path: Path,
    name: str,
    *lines: str,
    operator: str = "KCELL",
    blocks: bool = False,
) -> UploadReport:
    path = tmp_path / name
    path.write_text("\n".join(("seen_at,imei,imsi,msisdn", *lines)) + "\n")
    rules = replace(registry.rules, clone_blocks=blocks)
    with registry.transaction() as conn:
        return ingest_observations(
            conn,
            path,
            operator=operator,
            now=at("2025-09-20"),
            rules=rules,
            bad_row_threshold=0.05,
            clone_rules=RULES,
        )


def state(registry: Runtime, imei: str = IMEI) -> tuple[bool, str, str]:
    with registry.engine.connect() as conn:
        row = conn.execute(
            select(imeis.c.clone_suspected, imeis.c.list, imeis.c.reasons).where(
                imeis.c.imei == imei
            )
        ).one()
    return bool(row.clone_suspected), row.list, row.reasons


def sim(n: int) -> str:
    return f"2025-09-{10 + n:02d}T10:00:00,{IMEI},4010200000000{n:02d},770100000{n:02d}"


def test_more_imsis_than_the_threshold_makes_a_suspect_informative_by_default(
    registry: Runtime, tmp_path: Path
) -> None:
    report = ingest(registry, tmp_path, "three.csv", sim(1), sim(2), sim(3))
    assert report.counts["clones_suspected"] == 0
    assert state(registry) == (False, "grey", "GRACE_PERIOD")
    report = ingest(registry, tmp_path, "fourth.csv", sim(4))
    assert report.counts["clones_suspected"] == 1
    assert state(registry) == (True, "grey", "GRACE_PERIOD,CLONE_SUSPECTED")
    with registry.engine.connect() as conn:
        [suspect] = clone_report(conn, now=at("2025-09-20"), clone_rules=RULES)
    assert (suspect.imei, suspect.imsis_in_window, suspect.operators) == (IMEI, 4, ("KCELL",))
    assert "4 IMSIs" in suspect.why
    # Seen again: the suspicion is recorded once, not on every upload.
    ingest(registry, tmp_path, "fifth.csv", sim(5))
    with registry.engine.connect() as conn:
        facts = (
            conn.execute(select(imei_facts.c.kind).where(imei_facts.c.imei == IMEI)).scalars().all()
        )
    assert facts == ["CLONE_SUSPECTED"]


def test_imsis_outside_the_window_do_not_count(registry: Runtime, tmp_path: Path) -> None:
    old = [
        f"2025-07-0{n}T10:00:00,{IMEI},4010200000000{n:02d},770100000{n:02d}" for n in range(1, 5)
    ]
    ingest(registry, tmp_path, "old.csv", *old)
    assert state(registry)[0] is False


def test_two_operators_at_the_same_time_is_a_clone_but_a_sim_move_is_not(
    registry: Runtime, tmp_path: Path
) -> None:
    ingest(
        registry,
        tmp_path,
        "k.csv",
        f"2025-09-01T10:00:00,{IMEI},401021111111111,77011111111",
        f"2025-09-10T10:00:00,{IMEI},401021111111111,77011111111",
        f"2025-09-01T10:00:00,{OTHER},401022222222222,77012222222",
        f"2025-09-05T10:00:00,{OTHER},401022222222222,77012222222",
    )
    ingest(
        registry,
        tmp_path,
        "b.csv",
        f"2025-09-05T10:00:00,{IMEI},401013333333333,77053333333",
        f"2025-09-06T10:00:00,{IMEI},401013333333333,77053333333",
        f"2025-09-05T10:00:00,{OTHER},401014444444444,77054444444",
        f"2025-09-08T10:00:00,{OTHER},401014444444444,77054444444",
        operator="BEELINE",
    )
    assert state(registry, IMEI)[0] is True
    assert state(registry, OTHER)[0] is False  # left KCELL the instant it joined BEELINE
    with registry.engine.connect() as conn:
        [suspect] = clone_report(conn, now=at("2025-09-20"), clone_rules=RULES)
    assert suspect.operators == ("BEELINE", "KCELL")
    assert "BEELINE and KCELL" in suspect.why


def test_clones_block_when_configured(registry: Runtime, tmp_path: Path) -> None:
    ingest(registry, tmp_path, "many.csv", sim(1), sim(2), sim(3), sim(4), blocks=True)
    assert state(registry) == (True, "black", "CLONE_SUSPECTED")
