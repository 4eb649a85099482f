"""Deciding a paid application: automatically when the checks settle it, by staff otherwise.

Approval makes every IMEI of the device white (`VERIFIED`) — from grey or from black — through
`record_facts`, and links the IMEIs to one device row. A refusal stores every failure found.
When a state registry cannot be asked the application waits in the staff queue (`in_review`);
staff approve, refuse with a note, or ask for an automatic re-check once the registry is back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, select, update

from tizim.adapters.reference_state import StateRegistries
from tizim.domain.applications import Code, Failure, TacModel
from tizim.domain.rules import Rules
from tizim.services.application_checks import (
    read_verification_form,
    run_verification_checks,
    tac_models,
)
from tizim.services.facts import Fact, FactKind, record_facts
from tizim.storage.schema import devices, imeis
from tizim.storage.tables_applications import application_events, application_imeis, applications


class ApplicationStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    IN_REVIEW = "in_review"  # the staff queue
    APPROVED = "approved"
    REFUSED = "refused"


class ApplicationStateError(ValueError):
    """The application is not in a state that allows this step (the message says which)."""


def failures_to_json(failures: Sequence[Failure]) -> str:
    return json.dumps(
        [{"code": f.code.value, "field": f.field, "params": dict(f.params)} for f in failures],
        ensure_ascii=False,
    )


def failures_from_json(text: str | None) -> list[Failure]:
    return [
        Failure(Code(item["code"]), item["field"], item.get("params", {}))
        for item in json.loads(text or "[]")
    ]


def add_event(
    conn: Connection,
    application_id: int,
    status: ApplicationStatus,
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
    **columns: Any,
) -> None:
    """Change the status (and any other `columns`) and append it to the history, in one step."""
    conn.execute(
        update(applications)
        .where(applications.c.id == application_id)
        .values(status=status.value, **columns)
    )
    conn.execute(
        application_events.insert().values(
            application_id=application_id, status=status.value, actor=actor, note=note, at=now
        )
    )


def application_row(conn: Connection, number: str) -> Row[Any] | None:
    return conn.execute(select(applications).where(applications.c.number == number)).first()


def application_imei_list(conn: Connection, application_id: int) -> list[str]:
    return list(
        conn.execute(
            select(application_imeis.c.imei)
            .where(application_imeis.c.application_id == application_id)
            .order_by(application_imeis.c.position)
        ).scalars()
    )


def decide_application(
    conn: Connection,
    number: str,
    *,
    now: datetime,
    rules: Rules,
    registries: StateRegistries,
    actor: str = "registry",
) -> ApplicationStatus:
    """Decide a paid (or queued) verification application from the checks as they stand now."""
    row = _locked_row(conn, number)
    if row.status not in (ApplicationStatus.PAID, ApplicationStatus.IN_REVIEW):
        raise ApplicationStateError(f"application {number} is {row.status}: nothing to decide")
    form = read_verification_form(json.loads(row.body))
    outcome = run_verification_checks(
        conn, form, now=now, rules=rules, registries=registries, exclude_application=row.id
    )
    if outcome.failures:
        refuse(conn, row, outcome.failures, actor=actor, now=now)
        return ApplicationStatus.REFUSED
    if outcome.unavailable:
        if row.status != ApplicationStatus.IN_REVIEW:
            note = "state registry unavailable: " + ", ".join(outcome.unavailable)
            add_event(conn, row.id, ApplicationStatus.IN_REVIEW, actor=actor, now=now, note=note)
        return ApplicationStatus.IN_REVIEW
    approve(conn, row, outcome.imeis, outcome.models, actor=actor, now=now, rules=rules)
    return ApplicationStatus.APPROVED


def staff_decide(
    conn: Connection,
    number: str,
    *,
    verdict: str,
    staff: str,
    now: datetime,
    rules: Rules,
    registries: StateRegistries,
    note: str | None = None,
) -> ApplicationStatus:
    """`approve`, `refuse` (with a note the applicant reads) or `recheck` a queued application."""
    row = _locked_row(conn, number)
    if row.status not in (ApplicationStatus.IN_REVIEW, ApplicationStatus.PAID):
        raise ApplicationStateError(f"application {number} is {row.status}: staff cannot decide")
    actor = f"staff:{staff}"
    if verdict == "recheck":
        return decide_application(
            conn, number, now=now, rules=rules, registries=registries, actor=actor
        )
    if verdict == "refuse":
        failure = Failure(Code.REFUSED_BY_STAFF, None, {"note": note or ""})
        refuse(conn, row, [failure], actor=actor, now=now, note=note)
        return ApplicationStatus.REFUSED
    if verdict == "approve":
        device_imeis = application_imei_list(conn, row.id)
        models = tac_models(conn, device_imeis)
        approve(conn, row, device_imeis, models, actor=actor, now=now, rules=rules, note=note)
        return ApplicationStatus.APPROVED
    raise ApplicationStateError(f"unknown verdict {verdict!r}: approve, refuse or recheck")


def _locked_row(conn: Connection, number: str) -> Row[Any]:
    """The application row, locked on PostgreSQL so two deciders cannot both decide it."""
    query = select(applications).where(applications.c.number == number)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise LookupError(f"no application {number}")
    return row


def refuse(
    conn: Connection,
    row: Row[Any],
    failures: Sequence[Failure],
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> None:
    codes = note or ", ".join(failure.code.value for failure in failures)
    add_event(
        conn,
        row.id,
        ApplicationStatus.REFUSED,
        actor=actor,
        now=now,
        note=codes,
        failures=failures_to_json(failures),
        decided_at=now,
        decided_by=actor,
    )


def approve(
    conn: Connection,
    row: Row[Any],
    device_imeis: Sequence[str],
    models: dict[str, TacModel],
    *,
    actor: str,
    now: datetime,
    rules: Rules,
    note: str | None = None,
) -> None:
    """Every IMEI white (VERIFIED), linked to one device row named after its TAC model."""
    model = models.get(device_imeis[0][:8]) if device_imeis else None
    device_id = conn.execute(
        devices.insert()
        .values(
            brand=model.brand if model else None,
            model=model.model if model else None,
            created_at=now,
        )
        .returning(devices.c.id)
    ).scalar_one()
    source = f"application:{row.number}"
    record_facts(
        conn,
        [
            Fact(imei, FactKind.VERIFICATION_APPROVED, source, now, reference=row.number)
            for imei in device_imeis
        ],
        now=now,
        rules=rules,
        source=source,
    )
    conn.execute(
        update(imeis).where(imeis.c.imei.in_(list(device_imeis))).values(device_id=device_id)
    )
    add_event(
        conn,
        row.id,
        ApplicationStatus.APPROVED,
        actor=actor,
        now=now,
        note=note,
        device_id=device_id,
        failures=None,
        decided_at=now,
        decided_by=actor,
    )
