"""TAC database, GSMA blacklist, police and repairs: each feed's effect on the lists."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.services.feeds_support import NOW, add_org, bad_check_digit, imei, listed, write_csv
from tizim.runtime import Runtime
from tizim.services.csv_input import UploadReport
from tizim.services.facts import Fact, FactKind, record_facts, record_sighting
from tizim.services.gsma_feeds import load_gsma_blacklist, load_tac_database
from tizim.services.orgs import Role
from tizim.services.police import load_police_reports
from tizim.services.repairs import load_repairs

TAC_HEADER = "tac,brand,model,device_type,sim_slots"
GSMA_HEADER = "imei,action,reason,reported_at"
POLICE_HEADER = "imei,action,case_number,reported_at"
KNOWN, OTHER = "35033332", "35160908"
A, B = imei(KNOWN, 1), imei(OTHER, 1)


def trusted(registry: Runtime, *values: str) -> None:
    with registry.transaction() as conn:
        record_facts(
            conn,
            [Fact(v, FactKind.TRUSTED_REGISTRATION, "IMP", NOW) for v in values],
            now=NOW,
            rules=registry.rules,
            source="test",
        )


def tac_file(tmp_path: Path, name: str, *tacs: str) -> Path:
    rows = [f"{tac},Brand{tac},Model{tac},smartphone,2" for tac in tacs]
    return write_csv(tmp_path / name, TAC_HEADER, *rows)


def load_tacs(registry: Runtime, path: Path) -> UploadReport:
    with registry.transaction() as conn:
        return load_tac_database(conn, path, now=NOW, rules=registry.rules, loaded_by="t")


def gsma(registry: Runtime, path: Path, *, full: bool = False) -> UploadReport:
    with registry.transaction() as conn:
        return load_gsma_blacklist(
            conn, path, now=NOW, rules=registry.rules, loaded_by="t", full=full
        )


def police(registry: Runtime, path: Path) -> UploadReport:
    with registry.transaction() as conn:
        return load_police_reports(conn, path, now=NOW, rules=registry.rules, loaded_by="t")


def test_tac_reload_reports_a_diff_and_moves_unknown_tac_both_ways(
    registry: Runtime, tmp_path: Path
) -> None:
    invalid = bad_check_digit(imei(KNOWN, 2))
    trusted(registry, A, B, invalid)
    first = load_tacs(registry, tac_file(tmp_path, "t1.csv", KNOWN))
    assert first.counts["tacs_added"] == 1 and first.counts["imeis_now_unknown_tac"] == 1
    assert listed(registry, A) == ("white", ("TRUSTED_SOURCE",))
    assert listed(registry, B) == ("black", ("UNKNOWN_TAC",))
    assert listed(registry, invalid) == ("black", ("INVALID_CHECK_DIGIT",))
    second = load_tacs(registry, tac_file(tmp_path, "t2.csv", OTHER))
    assert (second.counts["tacs_added"], second.counts["tacs_removed"]) == (1, 1)
    assert listed(registry, A) == ("black", ("UNKNOWN_TAC",))
    assert listed(registry, B) == ("white", ("TRUSTED_SOURCE",))
    assert listed(registry, invalid) == ("black", ("INVALID_CHECK_DIGIT",))
    changed = write_csv(tmp_path / "t3.csv", TAC_HEADER, f"{OTHER},Brand,Renamed,phone,1")
    assert load_tacs(registry, changed).counts["tacs_changed"] == 1


def test_a_tac_file_without_usable_rows_is_refused(registry: Runtime, tmp_path: Path) -> None:
    report = load_tacs(registry, write_csv(tmp_path / "t.csv", TAC_HEADER, "12,a,b,c,9"))
    assert report.refused and report.errors[0].line == 2


def test_gsma_add_blocks_and_remove_restores(registry: Runtime, tmp_path: Path) -> None:
    trusted(registry, A)
    added = gsma(
        registry, write_csv(tmp_path / "g1.csv", GSMA_HEADER, f"{A},add,stolen,2026-02-01")
    )
    assert added.counts["added"] == 1
    assert listed(registry, A) == ("black", ("GSMA_BLACKLISTED",))
    gsma(registry, write_csv(tmp_path / "g2.csv", GSMA_HEADER, f"{A},remove,,2026-02-02"))
    assert listed(registry, A) == ("white", ("TRUSTED_SOURCE",))


def test_a_full_gsma_file_becomes_deltas(registry: Runtime, tmp_path: Path) -> None:
    trusted(registry, A, B)
    gsma(registry, write_csv(tmp_path / "g1.csv", GSMA_HEADER, f"{A},add,lost,2026-02-01"))
    report = gsma(
        registry,
        write_csv(tmp_path / "full.csv", GSMA_HEADER, f"{B},add,stolen,2026-02-03"),
        full=True,
    )
    assert (report.counts["added"], report.counts["removed"]) == (1, 1)
    assert listed(registry, A) == ("white", ("TRUSTED_SOURCE",))
    assert listed(registry, B) == ("black", ("GSMA_BLACKLISTED",))


def test_police_cases_block_until_the_last_one_is_recovered(
    registry: Runtime, tmp_path: Path
) -> None:
    trusted(registry, A)
    police(
        registry,
        write_csv(
            tmp_path / "p1.csv",
            POLICE_HEADER,
            f"{A},add,KZ-1,2026-02-01",
            f"{A},add,KZ-2,2026-02-02",
        ),
    )
    assert listed(registry, A) == ("black", ("REPORTED_STOLEN",))
    police(registry, write_csv(tmp_path / "p2.csv", POLICE_HEADER, f"{A},remove,KZ-1,2026-02-03"))
    assert listed(registry, A) == ("black", ("REPORTED_STOLEN",))
    report = police(
        registry,
        write_csv(
            tmp_path / "p3.csv",
            POLICE_HEADER,
            f"{A},remove,KZ-2,2026-02-04",
            f"{A},remove,KZ-9,2026-02-04",
        ),
    )
    assert listed(registry, A) == ("white", ("TRUSTED_SOURCE",))
    assert report.counts["unknown_cases"] == 1 and report.errors[0].line == 3


def test_a_repair_passes_white_on_and_retires_the_old_imei(
    registry: Runtime, tmp_path: Path
) -> None:
    add_org(registry, "SC-1", Role.SERVICE_CENTRE)
    new = imei(KNOWN, 9)
    trusted(registry, A)
    path = write_csv(
        tmp_path / "r.csv",
        "old_imei,new_imei,repaired_on,document",
        f"{A},{new},2026-02-01,WO-1",
        f"{B},{imei(OTHER, 9)},2026-02-01,WO-2",
    )
    with registry.transaction() as conn:
        report = load_repairs(
            conn, path, organisation="SC-1", now=NOW, rules=registry.rules, bad_row_threshold=0.6
        )
    assert report.counts["inherited"] == 1 and report.errors[0].code == "UNKNOWN_IMEI"
    assert listed(registry, new) == ("white", ("TRUSTED_SOURCE",))
    assert listed(registry, A) == ("unknown", ("RETIRED_IMEI",))
    with registry.transaction() as conn:  # the old IMEI shows up again: blocked
        record_sighting(
            conn,
            imei=A,
            operator="KCELL",
            imsi="401021234567890",
            msisdn="77011234567",
            seen_at=NOW + timedelta(days=1),
            now=NOW + timedelta(days=1),
            rules=registry.rules,
        )
    assert listed(registry, A) == ("black", ("RETIRED_IMEI",))
