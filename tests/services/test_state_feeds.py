"""Loading the customs, border and parcel feeds: columns, line-numbered errors, the bad-row
threshold, idempotency by SHA-256, and the reference registries reading them back."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tizim.adapters.reference_state import reference_registries, set_registry_available
from tizim.adapters.state_registries import StateRegistryUnavailable
from tizim.runtime import Runtime
from tizim.services.state_feeds import load_border, load_customs, load_parcels

NOW = datetime(2025, 9, 1, 5, 0, tzinfo=UTC)
IIN, OTHER = "900101300017", "900101300811"
IMEI1, IMEI2 = "352906110000017", "352906110000025"


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_customs_rows_become_one_declaration_with_all_its_imeis(
    registry: Runtime, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "c.csv",
        [
            "imei,declaration_number,declared_on,declarant_iin",
            f"{IMEI1},DT-1,2025-08-20,{IIN}",
            f"{IMEI2[:14]},DT-1,2025-08-20,{IIN}",
        ],
    )
    with registry.transaction() as conn:
        report = load_customs(conn, path, now=NOW, rules=registry.rules, loaded_by="staff")
        declaration = reference_registries(conn, registry.rules).customs.declaration("DT-1")
    assert report.rows_accepted == 2 and report.errors_total == 0
    assert declaration is not None and declaration.imeis == {IMEI1, IMEI2}
    assert declaration.declarant_iin == IIN and declaration.declared_on == date(2025, 8, 20)


def test_bad_rows_are_reported_with_line_and_column(registry: Runtime, tmp_path: Path) -> None:
    rows = [f"DT-{n},{IIN},2025-08-20,{IMEI1}" for n in range(40)]
    path = write(
        tmp_path / "c.csv",
        [
            "declaration_number,declarant_iin,declared_on,imei",
            *rows,
            f"DT-X,900101300018,2025-08-20,{IMEI1}",
            f"DT-Y,{IIN},20.08.2025,{IMEI1}",
        ],
    )
    with registry.transaction() as conn:
        report = load_customs(conn, path, now=NOW, rules=registry.rules, loaded_by="staff")
    assert report.rows_accepted == 40
    assert [(e.line, e.column, e.code) for e in report.errors] == [
        (42, "declarant_iin", "IIN_INVALID_CHECK_DIGIT"),
        (43, "declared_on", "INVALID_DATE"),
    ]


def test_a_file_with_too_many_bad_rows_is_refused_whole(registry: Runtime, tmp_path: Path) -> None:
    path = write(
        tmp_path / "b.csv",
        [
            "iin,crossed_at,direction,checkpoint",
            f"{IIN},2025-08-25T10:00,entry,Khorgos",
            f"{IIN},2025-08-25T10:00,sideways,Khorgos",
        ],
    )
    with registry.transaction() as conn:
        report = load_border(conn, path, now=NOW, rules=registry.rules, loaded_by="staff")
        crossings = reference_registries(conn, registry.rules).border.crossings(
            IIN, date(2025, 8, 25)
        )
    assert report.refused and "refused whole" in (report.refusal or "")
    assert crossings == []


def test_a_missing_column_refuses_the_file(registry: Runtime, tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.csv", ["tracking_number,recipient_iin,description", f"T1,{IIN},phone"]
    )
    with registry.transaction() as conn:
        report = load_parcels(conn, path, now=NOW, rules=registry.rules, loaded_by="staff")
    assert report.refused and "delivered_on" in (report.refusal or "")


def test_the_same_file_twice_is_a_duplicate_and_a_corrected_row_replaces(
    registry: Runtime, tmp_path: Path
) -> None:
    first = tmp_path / "p.csv.gz"
    first.write_bytes(
        gzip.compress(
            f"tracking_number,recipient_iin,delivered_on,description\nT1,{OTHER},2025-08-28,Books\n".encode()
        )
    )
    with registry.transaction() as conn:
        assert (
            load_parcels(conn, first, now=NOW, rules=registry.rules, loaded_by="a").rows_accepted
            == 1
        )
        again = load_parcels(conn, first, now=NOW, rules=registry.rules, loaded_by="a")
        corrected = write(
            tmp_path / "fix.csv",
            [
                "tracking_number,recipient_iin,delivered_on,description",
                f"T1,{IIN},2025-08-28,Смартфон",
            ],
        )
        load_parcels(conn, corrected, now=NOW, rules=registry.rules, loaded_by="a")
        parcel = reference_registries(conn, registry.rules).postal.parcel("T1")
    assert again.duplicate_of is not None and again.rows_accepted == 0
    assert parcel is not None and parcel.recipient_iin == IIN and parcel.description == "Смартфон"


def test_border_crossings_are_found_by_almaty_calendar_day(
    registry: Runtime, tmp_path: Path
) -> None:
    # 23:30 Almaty on the 24th is 18:30 UTC; 00:30 Almaty on the 26th is the 25th in UTC
    path = write(
        tmp_path / "b.csv",
        [
            "iin,crossed_at,direction,checkpoint",
            f"{IIN},2025-08-24T23:30:00,entry,A",
            f"{IIN},2025-08-26T00:30:00+05:00,exit,B",
        ],
    )
    with registry.transaction() as conn:
        load_border(conn, path, now=NOW, rules=registry.rules, loaded_by="s")
        border = reference_registries(conn, registry.rules).border
        assert [c.checkpoint for c in border.crossings(IIN, date(2025, 8, 24))] == ["A"]
        assert border.crossings(IIN, date(2025, 8, 25)) == []
        assert [c.direction for c in border.crossings(IIN, date(2025, 8, 26))] == ["exit"]


def test_an_unavailable_registry_says_so(registry: Runtime) -> None:
    with registry.transaction() as conn:
        set_registry_available(conn, "parcels", available=False, now=NOW, note="outage")
        registries = reference_registries(conn, registry.rules)
        with pytest.raises(StateRegistryUnavailable):
            registries.postal.parcel("T1")
        assert registries.customs.declaration("none") is None  # the others still answer
        set_registry_available(conn, "parcels", available=True, now=NOW)
        assert registries.postal.parcel("T1") is None
