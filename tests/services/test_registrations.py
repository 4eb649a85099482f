"""Trusted registrations: grouping, checks, conflicts, idempotency, refusal — on both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.services.feeds_support import (
    DUAL_TAC,
    NOW,
    add_org,
    bad_check_digit,
    imei,
    listed,
    write_csv,
)
from tizim.domain.imei import DEFAULT_RESERVED_TAC_PREFIXES, check_digit, read_imei
from tizim.runtime import Runtime
from tizim.services.csv_input import UploadReport
from tizim.services.facts import record_sighting
from tizim.services.gsma_feeds import load_tac_database
from tizim.services.imei_reading import luhn_check_digit, read_imei_fast
from tizim.services.orgs import OrganisationError, Role
from tizim.services.registrations import register_devices
from tizim.storage.schema import devices, imeis, status_changes, uploads
from tizim.storage.tables_orgs import registration_conflicts

HEADER = "device_ref,imei,brand,model,document,registered_on"
TABLET_TAC = "35263972"  # 1 SIM slot in the TAC file below
PHONE_A, PHONE_B = imei(DUAL_TAC, 1), imei(DUAL_TAC, 2)


def register(
    registry: Runtime, path: Path, org: str = "IMP-A", threshold: float = 0.5
) -> UploadReport:
    with registry.transaction() as conn:
        return register_devices(
            conn, path, organisation=org, now=NOW, rules=registry.rules, bad_row_threshold=threshold
        )


def load_tacs(registry: Runtime, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "tacs.csv",
        "tac,brand,model,device_type,sim_slots",
        f"{DUAL_TAC},Apple,iPhone 15 Pro Max,smartphone,2",
        f"{TABLET_TAC},Apple,iPad Air,tablet,1",
    )
    with registry.transaction() as conn:
        load_tac_database(conn, path, now=NOW, rules=registry.rules, loaded_by="test")


@pytest.fixture
def importer(registry: Runtime) -> str:
    add_org(registry, "IMP-A", Role.IMPORTER)
    return "IMP-A"


def test_a_registered_device_turns_white_even_from_black(
    registry: Runtime, importer: str, tmp_path: Path
) -> None:
    with registry.transaction() as conn:  # seen long ago, grace expired: black
        record_sighting(
            conn,
            imei=PHONE_A,
            operator="KCELL",
            imsi="401021234567890",
            msisdn="77011234567",
            seen_at=NOW - timedelta(days=90),
            now=NOW,
            rules=registry.rules,
        )
    assert listed(registry, PHONE_A) == ("black", ("GRACE_EXPIRED",))
    path = write_csv(
        tmp_path / "r.csv",
        HEADER,
        f"D1,{PHONE_A},Apple,iPhone,DT-1,2026-02-01",
        f"D1,{PHONE_B},Apple,iPhone,DT-1,2026-02-01",
    )
    report = register(registry, path)
    assert report.counts["imeis_registered"] == 2 and report.counts["devices_created"] == 1
    assert listed(registry, PHONE_A) == ("white", ("TRUSTED_SOURCE",))
    assert listed(registry, PHONE_B) == ("white", ("TRUSTED_SOURCE",))
    with registry.engine.connect() as conn:
        device_ids = set(
            conn.execute(
                select(imeis.c.device_id).where(imeis.c.imei.in_([PHONE_A, PHONE_B]))
            ).scalars()
        )
    assert len(device_ids) == 1 and None not in device_ids


def test_bad_rows_are_reported_by_line_and_reject_their_whole_device(
    registry: Runtime, importer: str, tmp_path: Path
) -> None:
    good = [imei(DUAL_TAC, n) for n in range(10, 22)]
    path = write_csv(
        tmp_path / "r.csv",
        HEADER,
        f"D1,{good[0]},A,B,DT,2026-02-01",
        f"D1,{bad_check_digit(good[1])},A,B,DT,2026-02-01",  # line 3: bad check digit
        f"D2,{good[2]},A,B,DT,2026-02-01",
        f"D3,{good[3]},A,B,DT,not-a-date",  # line 5
        f"D4,{good[4]},A,B,DT,2026-02-01",
        f"D2,{good[5]},A,B,DT,2026-02-01",  # line 7: D2 is not adjacent
        *(f"D5,{good[n]},A,B,DT,2026-02-01" for n in range(6, 11)),  # 5 IMEIs
        f"D6,{good[0]},A,B,DT,2026-02-01",  # duplicate of an IMEI of rejected D1: fine
    )
    report = register(registry, path, threshold=0.9)
    by_line = {error.line: error.code for error in report.errors}
    assert by_line[3] == "INVALID_CHECK_DIGIT" and by_line[2] == "DEVICE_REJECTED"
    assert by_line[5] == "BAD_TIME" and by_line[7] == "DEVICE_REJECTED"
    assert all(by_line.get(line) == "DEVICE_REJECTED" for line in range(8, 13))
    assert report.counts["devices_accepted"] == 3  # D2 (first part), D4, D6
    assert listed(registry, good[4])[0] == "white"
    with registry.engine.connect() as conn:
        assert conn.execute(select(imeis.c.imei).where(imeis.c.imei == good[3])).first() is None


def test_with_a_tac_database_models_and_sim_slots_are_checked(
    registry: Runtime, importer: str, tmp_path: Path
) -> None:
    load_tacs(registry, tmp_path)
    path = write_csv(
        tmp_path / "r.csv",
        HEADER,
        f"T1,{imei(TABLET_TAC, 1)},Apple,iPad,DT,2026-02-01",
        f"T1,{imei(TABLET_TAC, 2)},Apple,iPad,DT,2026-02-01",  # 2 IMEIs, 1 slot
        f"M1,{imei(TABLET_TAC, 3)},Apple,iPad,DT,2026-02-01",
        f"M1,{imei(DUAL_TAC, 3)},Apple,iPhone,DT,2026-02-01",  # two models in one device
        f"U1,{imei('35999999', 1)},X,Y,DT,2026-02-01",  # unknown TAC
        f"OK,{imei(DUAL_TAC, 4)},Apple,iPhone,DT,2026-02-01",
        f"OK,{imei(DUAL_TAC, 5)},Apple,iPhone,DT,2026-02-01",
    )
    report = register(registry, path, threshold=0.9)
    messages = {error.line: error.message for error in report.errors}
    assert "SIM slot" in messages[2] and "different models" in messages[4]
    assert report.errors[-1].code == "UNKNOWN_TAC" and report.errors[-1].line == 6
    assert report.counts["devices_accepted"] == 1
    assert listed(registry, imei(DUAL_TAC, 4)) == ("white", ("TRUSTED_SOURCE",))


def test_the_same_file_again_changes_nothing(
    registry: Runtime, importer: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "r.csv", HEADER, f"D1,{PHONE_A},A,B,DT,2026-02-01")
    first = register(registry, path)
    again = register(registry, path)
    assert first.duplicate_of is None and again.duplicate_of is not None
    with registry.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(devices)).scalar_one() == 1
        outcomes = list(conn.execute(select(uploads.c.outcome).order_by(uploads.c.id)).scalars())
    assert outcomes == ["accepted", "duplicate"]


def test_above_the_threshold_nothing_is_stored(
    registry: Runtime, importer: str, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "r.csv", HEADER, f"D1,{PHONE_A},A,B,DT,2026-02-01", "D2,12345,A,B,DT,2026-02-01"
    )
    report = register(registry, path, threshold=0.05)
    assert report.refused and "refused whole" in (report.refusal or "")
    with registry.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(imeis)).scalar_one() == 0
        assert conn.execute(select(uploads.c.outcome)).scalar_one() == "refused"


def test_a_missing_column_refuses_the_file(
    registry: Runtime, importer: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "r.csv", "device_ref,imei", f"D1,{PHONE_A}")
    report = register(registry, path)
    assert report.refused and "brand" in (report.refusal or "")


def test_an_imei_of_another_organisation_is_a_conflict_not_an_overwrite(
    registry: Runtime, importer: str, tmp_path: Path
) -> None:
    add_org(registry, "IMP-B", Role.IMPORTER)
    register(registry, write_csv(tmp_path / "a.csv", HEADER, f"D1,{PHONE_A},A,B,DT-A,2026-02-01"))
    report = register(
        registry,
        write_csv(
            tmp_path / "b.csv",
            HEADER,
            f"X1,{PHONE_A},A,B,DT-B,2026-02-02",
            f"X2,{PHONE_B},A,B,DT-B,2026-02-02",
        ),
        org="IMP-B",
    )
    assert report.counts["conflicts"] == 1 and report.counts["imeis_registered"] == 1
    with registry.engine.connect() as conn:
        conflict = conn.execute(select(registration_conflicts)).one()
    assert (conflict.imei, conflict.organisation, conflict.existing_organisation) == (
        PHONE_A,
        "IMP-B",
        "IMP-A",
    )


def test_only_importers_and_manufacturers_register(registry: Runtime, tmp_path: Path) -> None:
    add_org(registry, "KCELL", Role.OPERATOR, mcc_mncs=["40102"])
    path = write_csv(tmp_path / "r.csv", HEADER, f"D1,{PHONE_A},A,B,DT,2026-02-01")
    with pytest.raises(OrganisationError, match="only importers and manufacturers"):
        register(registry, path, org="KCELL")


@given(
    st.text(alphabet="0123456789 -x", min_size=0, max_size=17)
    | st.from_regex(r"\d{15}", fullmatch=True)
)
def test_the_fast_imei_reader_agrees_with_the_domain(raw: str) -> None:
    prefixes = DEFAULT_RESERVED_TAC_PREFIXES
    assert read_imei_fast(raw, prefixes) == read_imei(raw, prefixes)


def test_a_new_registered_imei_has_one_history_row_from_unknown(
    registry: Runtime, importer: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "r.csv", HEADER, f"D1,{PHONE_A},A,B,DT,2026-02-01")
    report = register(registry, path)
    assert report.counts["list_changes"] == 1
    with registry.engine.connect() as conn:
        history = conn.execute(
            select(
                status_changes.c.from_list, status_changes.c.to_list, status_changes.c.source
            ).where(status_changes.c.imei == PHONE_A)
        ).all()
        row = conn.execute(select(imeis).where(imeis.c.imei == PHONE_A)).one()
    assert [tuple(change) for change in history] == [("unknown", "white", "registration:IMP-A")]
    assert row.grace_deadline is None and row.trusted_source and row.first_seen_at is None


def test_columns_in_another_order_and_extra_fields_are_read_by_name(
    registry: Runtime, importer: str, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "r.csv",
        "imei,registered_on,document,model,brand,device_ref,note",
        f"{PHONE_A},2026-02-01,DT,B,A,D1,first",
        f"{PHONE_B},2026-02-01,DT,B,A,D2,second,unexpected",  # line 3: one field too many
    )
    report = register(registry, path)
    assert [(error.line, error.code) for error in report.errors] == [(3, "EXTRA_FIELDS")]
    assert listed(registry, PHONE_A) == ("white", ("TRUSTED_SOURCE",))


@given(st.from_regex(r"[0-9]{14}", fullmatch=True))
def test_the_fast_check_digit_agrees_with_the_domain(body: str) -> None:
    assert luhn_check_digit(body) == check_digit(body)
