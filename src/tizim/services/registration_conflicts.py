"""Registry staff resolve registration conflicts: keep the existing registration, or transfer it.

A conflict is opened when an organisation registers an IMEI another organisation registered
before (`registrations_merge`); the registration is never overwritten by the upload. Staff
close it with a resolution, their name and a reason:

- `keep_existing`: the registration stays with the organisation that holds it.
- `transfer`: the IMEI's registration passes to the organisation that reported the conflict,
  with the reporter's device reference and upload. The registration row is the
  TRUSTED_REGISTRATION fact that `history` shows, and it is rewritten; so that the history
  still explains the IMEI, the previous holder's registration is kept as a
  TRUSTED_REGISTRATION fact of its own, and the transfer is recorded as a
  TRUSTED_REGISTRATION_WITHDRAWN fact whose source is the staff member. The IMEI stays
  trusted (it is still registered), and its list is recomputed with the staff source, so any
  list change would be in its history too.

The IMEI keeps its device record (brand and model): the conflict does not carry the
reporter's device, and finding it would mean reading `registrations` by device_ref, which
has no index (migration 0006 dropped it to speed up bulk loads).

Other open conflicts on the same IMEI are left open: each names another reporting
organisation (the merge opens at most one open conflict per IMEI and reporter), and staff
decide each on its own. A later `transfer` moves the registration from whoever holds it
then, which the listing shows as `registered_organisation`.

Resolving is one conditional UPDATE (`resolved_at IS NULL`): of two staff members resolving
the same conflict at once, one wins and the other is told it is already resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, Select, insert, select, update

from tizim.domain.rules import Rules
from tizim.services.facts import FactKind
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import imei_facts, imeis
from tizim.storage.tables_orgs import registration_conflicts, registrations

MAX_STAFF_NAME = 64  # the column's width; the history source is "staff:" + the name


class Resolution(StrEnum):
    KEEP_EXISTING = "keep_existing"
    TRANSFER = "transfer"


class ConflictState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


class ConflictResolutionError(Exception):
    """A resolution that cannot be made as asked (the message says why)."""


class ConflictNotFound(ConflictResolutionError):
    pass


class ConflictAlreadyResolved(ConflictResolutionError):
    pass


@dataclass(frozen=True)
class RegistrationConflict:
    id: int
    imei: str
    organisation: str  # the organisation that reported the conflict by registering the IMEI
    existing_organisation: str  # who held the registration when the conflict was detected
    registered_organisation: str | None  # who holds it now
    device_ref: str
    upload_id: int | None
    detected_at: datetime
    resolved_at: datetime | None
    resolution: Resolution | None
    resolved_by: str | None
    resolution_note: str | None


def list_conflicts(
    conn: Connection, *, state: ConflictState = ConflictState.OPEN, limit: int = 1000
) -> list[RegistrationConflict]:
    """Conflicts in the order they were detected; open ones by default."""
    query = _conflicts().order_by(registration_conflicts.c.id).limit(limit)
    if state is ConflictState.OPEN:
        query = query.where(registration_conflicts.c.resolved_at.is_(None))
    elif state is ConflictState.RESOLVED:
        query = query.where(registration_conflicts.c.resolved_at.is_not(None))
    return [_conflict(row) for row in conn.execute(query)]


def get_conflict(conn: Connection, *, conflict_id: int) -> RegistrationConflict | None:
    row = conn.execute(_conflicts().where(registration_conflicts.c.id == conflict_id)).first()
    return _conflict(row) if row else None


def resolve_conflict(
    conn: Connection,
    *,
    conflict_id: int,
    resolution: Resolution,
    note: str,
    resolved_by: str,
    now: datetime,
    rules: Rules,
) -> RegistrationConflict:
    """Close an open conflict as staff decided; returns it as it now stands.

    Raises ConflictNotFound, ConflictAlreadyResolved, or ConflictResolutionError for an
    unknown resolution, a blank note or staff name. Everything happens in the caller's transaction.
    """
    if resolution not in set(Resolution):
        raise ConflictResolutionError(f"a resolution is one of {', '.join(Resolution)}")
    resolution = Resolution(resolution)
    note, resolved_by = note.strip(), resolved_by.strip()
    if not note:
        raise ConflictResolutionError("a resolution needs a note: the reason for the decision")
    if not resolved_by or len(resolved_by) > MAX_STAFF_NAME:
        raise ConflictResolutionError(f"who resolves must be named in 1-{MAX_STAFF_NAME} chars")
    claimed = conn.execute(
        update(registration_conflicts)
        .where(
            registration_conflicts.c.id == conflict_id,
            registration_conflicts.c.resolved_at.is_(None),
        )
        .values(
            resolved_at=now,
            resolution=resolution.value,
            resolved_by=resolved_by,
            resolution_note=note,
        )
    ).rowcount
    if not claimed:
        _refuse(conn, conflict_id)
    conflict = get_conflict(conn, conflict_id=conflict_id)
    assert conflict is not None  # claimed above, in this transaction
    if resolution is Resolution.TRANSFER:
        _transfer(conn, conflict, now=now, rules=rules)
        conflict = get_conflict(conn, conflict_id=conflict_id)
        assert conflict is not None
    return conflict


def _refuse(conn: Connection, conflict_id: int) -> None:
    known = get_conflict(conn, conflict_id=conflict_id)
    if known is None:
        raise ConflictNotFound(f"no registration conflict {conflict_id}")
    assert known.resolved_at is not None and known.resolution is not None
    raise ConflictAlreadyResolved(
        f"registration conflict {conflict_id} was already resolved"
        f" ({known.resolution.value}) by {known.resolved_by} at {known.resolved_at.isoformat()}"
    )


def _transfer(
    conn: Connection, conflict: RegistrationConflict, *, now: datetime, rules: Rules
) -> None:
    """The reporter becomes the IMEI's registrant; the history keeps the previous one."""
    held = conn.execute(
        select(registrations).where(registrations.c.imei == conflict.imei).with_for_update()
    ).first()
    if held is not None and held.organisation == conflict.organisation:
        return  # it already holds the registration: nothing moves
    source = f"staff:{conflict.resolved_by}"
    reference = f"conflict {conflict.id}: registration transferred to {conflict.organisation}"
    facts = [
        {
            "kind": FactKind.TRUSTED_REGISTRATION_WITHDRAWN.value,
            "source": source,
            "reference": reference,
            "occurred_at": now,
            "recorded_at": now,
        }
    ]
    if held is not None:
        # The row below is about to name the new holder: the old registration stays a fact.
        facts.insert(
            0,
            {
                "kind": FactKind.TRUSTED_REGISTRATION.value,
                "source": held.organisation,
                "reference": held.document,
                "occurred_at": held.registered_on or held.recorded_at,
                "recorded_at": held.recorded_at,
            },
        )
    conn.execute(insert(imei_facts), [{"imei": conflict.imei, **fact} for fact in facts])
    registration = {
        "organisation": conflict.organisation,
        "device_ref": conflict.device_ref,
        "document": None,  # the reporter's document is in its upload, not in the conflict
        "registered_on": None,
        "upload_id": conflict.upload_id,
        "recorded_at": now,
    }
    if held is None:
        conn.execute(insert(registrations).values(imei=conflict.imei, **registration))
    else:
        conn.execute(
            update(registrations)
            .where(registrations.c.imei == conflict.imei)
            .values(**registration)
        )
    conn.execute(update(imeis).where(imeis.c.imei == conflict.imei).values(trusted_source=True))
    refresh_statuses(
        conn, imeis.c.imei == conflict.imei, now=now, rules=rules, source=source, detail=reference
    )


def _conflicts() -> Select[Any]:
    return select(
        registration_conflicts, registrations.c.organisation.label("registered_organisation")
    ).outerjoin_from(
        registration_conflicts,
        registrations,
        registrations.c.imei == registration_conflicts.c.imei,
    )


def _conflict(row: Row[Any]) -> RegistrationConflict:
    values = row._mapping
    return RegistrationConflict(
        id=values["id"],
        imei=values["imei"],
        organisation=values["organisation"],
        existing_organisation=values["existing_organisation"],
        registered_organisation=values["registered_organisation"],
        device_ref=values["device_ref"],
        upload_id=values["upload_id"],
        detected_at=values["detected_at"],
        resolved_at=values["resolved_at"],
        resolution=Resolution(values["resolution"]) if values["resolution"] else None,
        resolved_by=values["resolved_by"],
        resolution_note=values["resolution_note"],
    )
