"""Staff resolve registration conflicts: keep the registration or transfer it (both databases)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.services.feeds_support import DUAL_TAC, NOW, add_org, imei, listed, write_csv
from tizim.runtime import Runtime
from tizim.services.history import imei_history
from tizim.services.orgs import Role
from tizim.services.registration_conflicts import (
    ConflictAlreadyResolved,
    ConflictNotFound,
    ConflictResolutionError,
    ConflictState,
    RegistrationConflict,
    Resolution,
    list_conflicts,
    resolve_conflict,
)
from tizim.services.registrations import register_devices
from tizim.storage.schema import status_changes, uploads
from tizim.storage.tables_orgs import registrations

HEADER = "device_ref,imei,brand,model,document,registered_on"
PHONE = imei(DUAL_TAC, 1)
LATER = NOW + timedelta(days=2)


def register(registry: Runtime, path: Path, org: str) -> None:
    with registry.transaction() as conn:
        register_devices(
            conn, path, organisation=org, now=NOW, rules=registry.rules, bad_row_threshold=0.5
        )


@pytest.fixture
def conflict_id(registry: Runtime, tmp_path: Path) -> int:
    """IMP-A registered PHONE first; IMP-B's later file claims it too: one open conflict."""
    for code in ("IMP-A", "IMP-B", "IMP-C"):
        add_org(registry, code, Role.IMPORTER)
    register(
        registry, write_csv(tmp_path / "a.csv", HEADER, f"D1,{PHONE},A,B,DT-A,2026-02-01"), "IMP-A"
    )
    register(
        registry, write_csv(tmp_path / "b.csv", HEADER, f"X1,{PHONE},A,B,DT-B,2026-02-02"), "IMP-B"
    )
    with registry.engine.connect() as conn:
        (conflict,) = list_conflicts(conn)
    assert (conflict.organisation, conflict.registered_organisation) == ("IMP-B", "IMP-A")
    return conflict.id


def resolve(
    registry: Runtime, conflict_id: int, resolution: Resolution, note: str = "customs papers"
) -> RegistrationConflict:
    with registry.transaction() as conn:
        return resolve_conflict(
            conn,
            conflict_id=conflict_id,
            resolution=resolution,
            note=note,
            resolved_by="aigerim",
            now=LATER,
            rules=registry.rules,
        )


def holder(registry: Runtime) -> tuple[str, str, int | None]:
    with registry.engine.connect() as conn:
        row = conn.execute(select(registrations).where(registrations.c.imei == PHONE)).one()
    return row.organisation, row.device_ref, row.upload_id


def upload_of(registry: Runtime, org: str) -> int:
    with registry.engine.connect() as conn:
        return int(
            conn.execute(select(uploads.c.id).where(uploads.c.organisation == org)).scalar_one()
        )


def facts(registry: Runtime) -> list[tuple[str, str, str | None]]:
    with registry.engine.connect() as conn:
        found = imei_history(conn, PHONE).facts
    return [(fact.kind, fact.source, fact.reference) for fact in found]


def test_keep_existing_closes_the_conflict_and_changes_no_registration(
    registry: Runtime, conflict_id: int
) -> None:
    before = facts(registry)
    resolved = resolve(registry, conflict_id, Resolution.KEEP_EXISTING, "IMP-A holds the invoice")
    assert (resolved.resolution, resolved.resolved_by, resolved.resolution_note) == (
        Resolution.KEEP_EXISTING,
        "aigerim",
        "IMP-A holds the invoice",
    )
    assert resolved.resolved_at == LATER
    assert holder(registry) == ("IMP-A", "D1", upload_of(registry, "IMP-A"))
    assert facts(registry) == before
    assert listed(registry, PHONE) == ("white", ("TRUSTED_SOURCE",))
    with registry.engine.connect() as conn:
        assert list_conflicts(conn) == []
        assert [c.id for c in list_conflicts(conn, state=ConflictState.RESOLVED)] == [conflict_id]
        assert [c.id for c in list_conflicts(conn, state=ConflictState.ALL)] == [conflict_id]


def test_transfer_gives_the_registration_to_the_reporter_and_history_explains_it(
    registry: Runtime, conflict_id: int
) -> None:
    resolved = resolve(registry, conflict_id, Resolution.TRANSFER)
    assert resolved.resolution is Resolution.TRANSFER
    assert resolved.registered_organisation == "IMP-B"
    assert holder(registry) == ("IMP-B", "X1", upload_of(registry, "IMP-B"))
    assert listed(registry, PHONE) == ("white", ("TRUSTED_SOURCE",))
    assert facts(registry) == [
        ("TRUSTED_REGISTRATION", "IMP-A", "DT-A"),
        (
            "TRUSTED_REGISTRATION_WITHDRAWN",
            "staff:aigerim",
            f"conflict {conflict_id}: registration transferred to IMP-B",
        ),
        ("TRUSTED_REGISTRATION", "IMP-B", None),
    ]
    with registry.engine.connect() as conn:
        sources = conn.execute(
            select(status_changes.c.source).where(status_changes.c.imei == PHONE)
        ).scalars()
        # Still white: no list change, so the facts alone explain the transfer.
        assert list(sources) == ["registration:IMP-A"]


def test_a_conflict_is_resolved_once_and_unknown_ids_are_refused(
    registry: Runtime, conflict_id: int
) -> None:
    resolve(registry, conflict_id, Resolution.KEEP_EXISTING)
    with pytest.raises(
        ConflictAlreadyResolved, match=r"already resolved \(keep_existing\) by aigerim"
    ):
        resolve(registry, conflict_id, Resolution.TRANSFER)
    assert holder(registry)[0] == "IMP-A"  # the refused transfer moved nothing
    with registry.engine.connect() as conn:
        (closed,) = list_conflicts(conn, state=ConflictState.RESOLVED)
    assert closed.resolution is Resolution.KEEP_EXISTING
    with pytest.raises(ConflictNotFound, match="no registration conflict 999"):
        resolve(registry, 999, Resolution.KEEP_EXISTING)


def test_a_blank_note_or_unknown_resolution_is_refused_and_the_conflict_stays_open(
    registry: Runtime, conflict_id: int
) -> None:
    with pytest.raises(ConflictResolutionError, match="needs a note"):
        resolve(registry, conflict_id, Resolution.TRANSFER, note="   ")
    with pytest.raises(ConflictResolutionError, match="keep_existing, transfer"):
        resolve(registry, conflict_id, "merge", note="both")  # type: ignore[arg-type]
    with registry.engine.connect() as conn:
        assert [c.id for c in list_conflicts(conn)] == [conflict_id]
    assert holder(registry)[0] == "IMP-A"


def test_other_open_conflicts_on_the_imei_stay_open_and_follow_the_holder(
    registry: Runtime, conflict_id: int, tmp_path: Path
) -> None:
    register(
        registry, write_csv(tmp_path / "c.csv", HEADER, f"Z9,{PHONE},A,B,DT-C,2026-02-03"), "IMP-C"
    )
    resolve(registry, conflict_id, Resolution.TRANSFER)
    with registry.engine.connect() as conn:
        (other,) = list_conflicts(conn)
    assert (other.organisation, other.existing_organisation) == ("IMP-C", "IMP-A")
    assert other.registered_organisation == "IMP-B"  # who holds it now
    resolve(registry, other.id, Resolution.TRANSFER)
    assert holder(registry)[:2] == ("IMP-C", "Z9")
    withdrawn = [f for f in facts(registry) if f[0] == "TRUSTED_REGISTRATION_WITHDRAWN"]
    assert [reference for _, _, reference in withdrawn] == [
        f"conflict {conflict_id}: registration transferred to IMP-B",
        f"conflict {other.id}: registration transferred to IMP-C",
    ]


def test_the_previous_holder_claiming_again_opens_a_new_conflict(
    registry: Runtime, conflict_id: int, tmp_path: Path
) -> None:
    resolve(registry, conflict_id, Resolution.TRANSFER)
    register(
        registry,
        write_csv(tmp_path / "a2.csv", HEADER, f"D1,{PHONE},A,B,DT-A2,2026-02-05"),
        "IMP-A",
    )
    assert holder(registry)[0] == "IMP-B"
    with registry.engine.connect() as conn:
        (reopened,) = list_conflicts(conn)
    assert (reopened.organisation, reopened.existing_organisation) == ("IMP-A", "IMP-B")
