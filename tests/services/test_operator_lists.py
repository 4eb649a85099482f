"""List generations for operators: full lists, chained deltas, notification lists and manifest."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tizim.runtime import Runtime
from tizim.services.clones import CloneRules
from tizim.services.facts import Fact, FactKind, record_facts
from tizim.services.ingest import ingest_observations
from tizim.services.notifications import NotificationPlan
from tizim.services.operator_lists import Generation, generate_lists
from tizim.services.orgs import Role, create_organisation

ALMATY = ZoneInfo("Asia/Almaty")
A = "490154203237518"
B = "490154203237519"  # bad check digit: black from its first sighting
C = "356938035643809"
PLAN = NotificationPlan(reminder_days=(10, 20))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ALMATY)


def setup_operators(registry: Runtime) -> None:
    with registry.transaction() as conn:
        create_organisation(
            conn, code="KCELL", role=Role.OPERATOR, mcc_mncs=("40102",), now=at("2025-01-01")
        )
        create_organisation(
            conn, code="BEELINE", role=Role.OPERATOR, mcc_mncs=("40101",), now=at("2025-01-01")
        )


def ingest(registry: Runtime, path: Path, *lines: str, now: str = "2025-09-01T23:00") -> None:
    path.write_text("\n".join(("seen_at,imei,imsi,msisdn", *lines)) + "\n")
    with registry.transaction() as conn:
        report = ingest_observations(
            conn,
            path,
            operator="KCELL",
            now=at(now),
            rules=registry.rules,
            bad_row_threshold=0.05,
            clone_rules=CloneRules(),
        )
    assert report.rows_rejected == 0


def fact(registry: Runtime, imei: str, kind: FactKind, when: str) -> None:
    with registry.transaction() as conn:
        record_facts(
            conn,
            [Fact(imei, kind, "TEST", at(when))],
            now=at(when),
            rules=registry.rules,
            source="test",
        )


def generate(registry: Runtime, outdir: Path, when: str, *, compress: bool = False) -> Generation:
    with registry.transaction() as conn:
        return generate_lists(
            conn, outdir, now=at(when), rules=registry.rules, plan=PLAN, compress=compress
        )


def rows(generation: Generation, name: str) -> list[dict[str, str]]:
    path = generation.directory / name
    raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    return list(csv.DictReader(raw.decode().splitlines()))


def delta(generation: Generation) -> set[tuple[str, str, str]]:
    return {(r["list"], r["change"], r["imei"]) for r in rows(generation, "delta.csv")}


def test_deltas_chain_over_three_generations(registry: Runtime, tmp_path: Path) -> None:
    setup_operators(registry)
    ingest(
        registry,
        tmp_path / "day1.csv",
        f"2025-09-01T10:00:00,{A},401021111111111,77011111111",
        f"2025-09-01T11:00:00,{B},401022222222222,77012222222",
        f"2025-09-01T12:00:00,{C},401023333333333,77013333333",
    )
    out = tmp_path / "lists"
    first = generate(registry, out, "2025-09-01T23:30")
    assert [r["imei"] for r in rows(first, "black.csv")] == [B]
    assert rows(first, "black.csv")[0]["reasons"] == "INVALID_CHECK_DIGIT"
    grey = rows(first, "grey.csv")
    assert [(r["imei"], r["deadline"]) for r in grey] == [
        (C, "2025-09-30T19:00:00Z"),
        (A, "2025-09-30T19:00:00Z"),
    ]
    assert delta(first) == {("black", "added", B), ("grey", "added", A), ("grey", "added", C)}

    fact(registry, A, FactKind.STOLEN_REPORTED, "2025-09-02T09:00")
    second = generate(registry, out, "2025-09-02T23:30")
    assert second.previous_id == first.id and second.changes_high_water > first.changes_high_water
    assert delta(second) == {("black", "added", A), ("grey", "removed", A)}
    assert [r["imei"] for r in rows(second, "black.csv")] == [A, B]

    fact(registry, C, FactKind.VERIFICATION_APPROVED, "2025-09-03T09:00")
    fact(registry, A, FactKind.STOLEN_RECOVERED, "2025-09-03T10:00")
    third = generate(registry, out, "2025-09-03T23:30")
    assert third.previous_id == second.id
    assert delta(third) == {("grey", "removed", C), ("black", "removed", A), ("grey", "added", A)}
    assert [r["imei"] for r in rows(third, "grey.csv")] == [A]

    fourth = generate(registry, out, "2025-09-04T23:30")
    assert delta(fourth) == set()
    manifest = json.loads((fourth.directory / "manifest.json").read_text())
    assert manifest["previous_generation"] == third.id
    for entry in manifest["files"]:
        content = (fourth.directory / entry["name"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == entry["sha256"]
        assert len(content.decode().splitlines()) - 1 == entry["rows"]


def test_a_black_imei_whose_reasons_change_is_a_changed_row(
    registry: Runtime, tmp_path: Path
) -> None:
    setup_operators(registry)
    ingest(registry, tmp_path / "d.csv", f"2025-09-01T10:00:00,{A},401021111111111,77011111111")
    fact(registry, A, FactKind.STOLEN_REPORTED, "2025-09-01T12:00")
    out = tmp_path / "lists"
    generate(registry, out, "2025-09-01T23:30")
    fact(registry, A, FactKind.GSMA_BLACKLIST_ADD, "2025-09-02T09:00")
    second = generate(registry, out, "2025-09-02T23:30")
    [changed] = rows(second, "delta.csv")
    assert (changed["list"], changed["change"], changed["imei"]) == ("black", "changed", A)
    assert changed["reasons"] == "GSMA_BLACKLISTED,REPORTED_STOLEN"


def test_notification_kinds_on_the_right_days_for_the_home_operator(
    registry: Runtime, tmp_path: Path
) -> None:
    setup_operators(registry)
    ingest(
        registry,
        tmp_path / "day1.csv",
        f"2025-09-01T10:00:00,{A},401021111111111,77011111111",  # a KCELL subscriber
        f"2025-09-01T18:00:00,{A},401015555555555,77055555555",  # a BEELINE one, roaming
    )
    out = tmp_path / "lists"
    expected = {
        "2025-09-01T22:00": "first_notice",
        "2025-09-05T22:00": None,
        "2025-09-11T22:00": "reminder",  # day 10
        "2025-09-12T22:00": None,
        "2025-09-21T22:00": "reminder",  # day 20
        "2025-09-30T22:00": "final_warning",  # the day before the 1 October cut-off
    }
    for when, kind in expected.items():
        generation = generate(registry, out, when, compress=True)
        kcell = rows(generation, "notifications-KCELL.csv.gz")
        beeline = rows(generation, "notifications-BEELINE.csv.gz")
        if kind is None:
            assert kcell == beeline == [], when
            continue
        assert kcell == [
            {
                "msisdn": "77011111111",
                "imei": A,
                "deadline": "2025-09-30T19:00:00Z",
                "deadline_date": "2025-10-01",
                "kind": kind,
            }
        ], when
        assert [(r["msisdn"], r["kind"]) for r in beeline] == [("77055555555", kind)], when
        assert generation.file("notifications-KCELL.csv.gz").audience == "KCELL"  # type: ignore[union-attr]


def test_a_missed_day_is_caught_up_by_the_next_generation(
    registry: Runtime, tmp_path: Path
) -> None:
    setup_operators(registry)
    ingest(
        registry,
        tmp_path / "late.csv",
        f"2025-09-01T10:00:00,{A},401021111111111,77011111111",
        now="2025-09-02T08:00",
    )
    generation = generate(registry, tmp_path / "lists", "2025-09-02T22:00")
    assert rows(generation, "notifications-KCELL.csv") == []  # first generation: today only
    generate(registry, tmp_path / "lists", "2025-09-10T22:00")
    skipped = generate(registry, tmp_path / "lists", "2025-09-12T22:00")  # 11 Sept had none
    assert [r["kind"] for r in rows(skipped, "notifications-KCELL.csv")] == ["reminder"]
