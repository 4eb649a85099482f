"""An owner's verification application: pre-check, submission, payment, and what it looks like.

The flow: `precheck_application` (nothing stored or charged) → `submit_application` (signature
verified, number issued, fee fixed) → `pay_application` (through a payment gateway; then the
decision runs, `tizim.services.decisions`). A body whose signature does not prove the
applicant is rejected outright and not stored: nothing could be attributed to anyone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from tizim.adapters.payments import PaymentGateway, amount_paid
from tizim.adapters.reference_state import StateRegistries
from tizim.config import Settings
from tizim.domain.applications import Code, Failure, check_iin
from tizim.domain.fees import verification_fee, within_free_resubmission
from tizim.domain.imei import read_imei
from tizim.domain.rules import Rules
from tizim.i18n import LANGUAGES, translate, translations
from tizim.services.application_checks import (
    VerificationForm,
    read_verification_form,
    run_verification_checks,
)
from tizim.services.decisions import (
    ApplicationStateError,
    ApplicationStatus,
    add_event,
    application_imei_list,
    application_row,
    decide_application,
    failures_from_json,
)
from tizim.services.signatures import (
    TrustStore,
    canonical_json,
    trust_store_from_setting,
    verify_signed_body,
)
from tizim.storage.queries import insert_ignoring_conflicts
from tizim.storage.tables_applications import (
    application_events,
    application_imeis,
    application_numbers,
    applications,
)


@dataclass(frozen=True)
class ApplicationPolicy:
    """The configured numbers of the application rules (fee table, free period, trusted CAs)."""

    mrp_by_year: Mapping[int, int]
    free_resubmission_days: int
    trust: TrustStore

    @classmethod
    def from_settings(cls, settings: Settings) -> ApplicationPolicy:
        return cls(
            mrp_by_year=dict(settings.mrp_by_year),
            free_resubmission_days=settings.resubmission_free_days,
            trust=trust_store_from_setting(settings.eds_trusted_ca_files),
        )


class ApplicationRejected(Exception):
    """Not accepted at all (signature, IIN or re-submission): `failures` say why; not stored."""

    def __init__(self, failures: Sequence[Failure]) -> None:
        super().__init__(", ".join(failure.code.value for failure in failures))
        self.failures = list(failures)


@dataclass(frozen=True)
class PrecheckResult:
    failures: list[Failure]
    unavailable: list[str]
    fee_kzt: int


def render_failures(failures: Sequence[Failure], lang: str) -> list[dict[str, Any]]:
    """Reasons as people receive them: code, field, the message in `lang` and in all three."""
    return [
        {
            "code": failure.code.value,
            "field": failure.field,
            "params": dict(failure.params),
            "message": translate(failure.code.value, lang, **failure.params),
            "messages": translations(failure.code.value, **failure.params),
        }
        for failure in failures
    ]


def signature_failures(
    body: Mapping[str, Any],
    signature: str | None,
    certificate: str | None,
    *,
    now: datetime,
    policy: ApplicationPolicy,
) -> list[Failure]:
    iin = str(body.get("applicant_iin") or "").replace(" ", "")
    return verify_signed_body(
        body,
        signature_b64=signature,
        certificate_pem=certificate,
        iin=iin,
        now=now,
        trust=policy.trust,
    )


def precheck_application(
    conn: Connection,
    body: Mapping[str, Any],
    signature: str | None,
    certificate: str | None,
    *,
    now: datetime,
    rules: Rules,
    policy: ApplicationPolicy,
    registries: StateRegistries,
) -> PrecheckResult:
    """Every check a decision would make, and the fee, without storing or charging anything."""
    form = read_verification_form(body)
    failures = signature_failures(body, signature, certificate, now=now, policy=policy)
    fee, resubmission_failures = _fee_for(conn, form, now=now, rules=rules, policy=policy)
    outcome = run_verification_checks(conn, form, now=now, rules=rules, registries=registries)
    return PrecheckResult(
        [*failures, *resubmission_failures, *outcome.failures], outcome.unavailable, fee
    )


def submit_application(
    conn: Connection,
    body: Mapping[str, Any],
    signature: str,
    certificate: str,
    *,
    provider: str | None,
    language: str,
    now: datetime,
    rules: Rules,
    policy: ApplicationPolicy,
    registries: StateRegistries,
) -> str:
    """Store a signed application and fix its fee; returns its number. A free re-submission is
    decided at once; any other waits for payment."""
    form = read_verification_form(body)
    failures = signature_failures(body, signature, certificate, now=now, policy=policy)
    fee, resubmission_failures = _fee_for(conn, form, now=now, rules=rules, policy=policy)
    rejected = [*failures, *check_iin(form.applicant_iin), *resubmission_failures]
    if rejected:
        raise ApplicationRejected(rejected)
    number = next_number(conn, rules.local_date(now).year)
    application_id = conn.execute(
        applications.insert()
        .values(
            number=number,
            kind="verification",
            status=ApplicationStatus.AWAITING_PAYMENT.value,
            applicant_iin=form.iin,
            provider=provider,
            proof_kind=form.proof_kind,
            proof_reference=form.proof_reference,
            entry_date=form.entry_date,
            language=language if language in LANGUAGES else "kk",
            body=canonical_json(body).decode(),
            signature=signature,
            certificate=certificate,
            fee_kzt=fee,
            resubmission_of=_application_id(conn, form.resubmission_of),
            submitted_at=now,
        )
        .returning(applications.c.id)
    ).scalar_one()
    store_imeis(conn, application_id, [*dict.fromkeys(_readable(form, rules))])
    add_event(
        conn, application_id, ApplicationStatus.AWAITING_PAYMENT, actor=_actor(provider), now=now
    )
    if fee == 0:
        add_event(
            conn,
            application_id,
            ApplicationStatus.PAID,
            actor="registry",
            now=now,
            note="free re-submission",
        )
        decide_application(conn, number, now=now, rules=rules, registries=registries)
    return number


def pay_application(
    conn: Connection,
    number: str,
    *,
    gateway: PaymentGateway,
    now: datetime,
    rules: Rules,
    registries: StateRegistries,
    actor: str,
) -> str:
    """Charge the fee, then decide at once; returns the payment reference."""
    row = application_row(conn, number)
    if row is None:
        raise LookupError(f"no application {number}")
    if row.status != ApplicationStatus.AWAITING_PAYMENT:
        raise ApplicationStateError(f"application {number} is {row.status}: nothing to pay")
    receipt = gateway.charge(application_id=row.id, amount_kzt=row.fee_kzt, now=now)
    add_event(conn, row.id, ApplicationStatus.PAID, actor=actor, now=now, note=receipt.reference)
    decide_application(conn, number, now=now, rules=rules, registries=registries)
    return receipt.reference


def _fee_for(
    conn: Connection,
    form: VerificationForm,
    *,
    now: datetime,
    rules: Rules,
    policy: ApplicationPolicy,
) -> tuple[int, list[Failure]]:
    """The fee of this submission, and why a claimed free re-submission is not free."""
    today = rules.local_date(now)
    full = verification_fee(submitted_on=today, devices=1, mrp_by_year=policy.mrp_by_year)
    if not form.resubmission_of:
        return full, []
    earlier = application_row(conn, form.resubmission_of)
    refusal = Failure(
        Code.RESUBMISSION_NOT_ALLOWED,
        "resubmission_of",
        {"number": form.resubmission_of, "days": str(policy.free_resubmission_days)},
    )
    if (
        earlier is None
        or earlier.status != ApplicationStatus.REFUSED
        or earlier.applicant_iin != form.iin
        or earlier.decided_at is None
        or not within_free_resubmission(
            refused_on=rules.local_date(earlier.decided_at),
            submitted_on=today,
            free_days=policy.free_resubmission_days,
        )
        or _already_resubmitted(conn, earlier.id)
    ):
        return full, [refusal]
    return 0, []


def _already_resubmitted(conn: Connection, application_id: int) -> bool:
    return bool(
        conn.execute(
            select(func.count()).where(applications.c.resubmission_of == application_id)
        ).scalar()
    )


def _application_id(conn: Connection, number: str | None) -> int | None:
    if not number:
        return None
    row = application_row(conn, number)
    return row.id if row else None


def _readable(form: VerificationForm, rules: Rules) -> list[str]:
    """The IMEIs stored with the application: the 15-digit form where one can be read."""
    return [
        read_imei(raw, rules.reserved_tac_prefixes).imei or raw[:15] for raw in form.raw_imeis[:4]
    ]


def store_imeis(conn: Connection, application_id: int, imei_list: Sequence[str]) -> None:
    if imei_list:
        conn.execute(
            application_imeis.insert(),
            [
                {"application_id": application_id, "position": position, "imei": imei}
                for position, imei in enumerate(imei_list)
            ],
        )


def next_number(conn: Connection, year: int) -> str:
    """KZ-<year>-<6 digits>, counted per year; the row lock serialises concurrent submissions."""
    insert_ignoring_conflicts(conn, application_numbers, [{"year": year, "last_value": 0}])
    conn.execute(
        update(application_numbers)
        .where(application_numbers.c.year == year)
        .values(last_value=application_numbers.c.last_value + 1)
    )
    value = conn.execute(
        select(application_numbers.c.last_value).where(application_numbers.c.year == year)
    ).scalar_one()
    return f"KZ-{year}-{value:06d}"


def _actor(provider: str | None) -> str:
    return f"provider:{provider}" if provider else "applicant"


def application_view(
    conn: Connection, number: str, *, lang: str, personal: bool
) -> dict[str, Any] | None:
    """The application as its applicant, its provider and staff see it. `personal=False`
    leaves out the IIN, proof references and certificate (for anyone else: nothing at all)."""
    row = application_row(conn, number)
    if row is None:
        return None
    history = conn.execute(
        select(application_events)
        .where(application_events.c.application_id == row.id)
        .order_by(application_events.c.id)
    )
    view: dict[str, Any] = {
        "number": row.number,
        "kind": row.kind,
        "status": row.status,
        "imeis": application_imei_list(conn, row.id),
        "device_imei": row.device_imei,
        "proof_kind": row.proof_kind,
        "fee_kzt": row.fee_kzt,
        "paid_kzt": amount_paid(conn, row.id),
        "provider": row.provider,
        "submitted_at": row.submitted_at.isoformat(),
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "reasons": render_failures(failures_from_json(row.failures), lang),
        "history": [
            {
                "status": event.status,
                "at": event.at.isoformat(),
                "actor": event.actor,
                "note": event.note,
            }
            for event in history
        ],
    }
    if personal:
        view.update(
            applicant_iin=row.applicant_iin,
            proof_reference=row.proof_reference,
            entry_date=row.entry_date.isoformat() if isinstance(row.entry_date, date) else None,
            body=json.loads(row.body),
        )
    return view


def list_applications(
    conn: Connection, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The staff queue and listings, oldest first."""
    query = (
        select(applications).order_by(applications.c.submitted_at, applications.c.id).limit(limit)
    )
    if status:
        query = query.where(applications.c.status == status)
    return [
        {
            "number": row.number,
            "kind": row.kind,
            "status": row.status,
            "applicant_iin": row.applicant_iin,
            "provider": row.provider,
            "proof_kind": row.proof_kind,
            "fee_kzt": row.fee_kzt,
            "submitted_at": row.submitted_at.isoformat(),
        }
        for row in conn.execute(query)
    ]
