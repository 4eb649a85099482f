"""Running every check of an owner's application against the registry and the state registries.

The same function serves the pre-check (nothing stored, nothing charged), the submission and
the decision, so a person sees before paying exactly the reasons the decision would give.
A state registry that cannot be asked makes the outcome undecidable (staff queue), never a
refusal: the person is not to blame for an outage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from tizim.adapters.reference_state import StateRegistries
from tizim.adapters.state_registries import StateRegistryUnavailable
from tizim.domain.applications import (
    Code,
    Failure,
    ImeiState,
    ProofKind,
    TacModel,
    check_border_proof,
    check_customs_proof,
    check_device_consistency,
    check_iin,
    check_imei_states,
    check_parcel_proof,
    check_proof_given,
    read_device_imeis,
)
from tizim.domain.iin import normalise_iin
from tizim.domain.rules import Rules
from tizim.storage.queries import tac_database_loaded
from tizim.storage.schema import imeis, tacs
from tizim.storage.tables_applications import application_imeis, applications

OPEN_STATUSES = ("awaiting_payment", "paid", "in_review")


@dataclass(frozen=True)
class VerificationForm:
    """The fields of a verification application body, as the applicant stated them."""

    applicant_iin: str
    raw_imeis: tuple[str, ...]
    proof_kind: str | None
    proof_reference: str | None
    entry_date: date | None
    entry_date_raw: str | None
    resubmission_of: str | None

    @property
    def iin(self) -> str:
        return normalise_iin(self.applicant_iin)


def read_verification_form(body: Mapping[str, Any]) -> VerificationForm:
    """Read the body leniently: wrong types become values the checks refuse with a reason."""
    proof = body.get("proof") if isinstance(body.get("proof"), dict) else {}
    assert isinstance(proof, dict)
    raw_imeis = body.get("imeis")
    imei_list = tuple(str(i) for i in raw_imeis) if isinstance(raw_imeis, list) else ()
    kind = proof.get("kind")
    reference = proof.get("declaration_number") or proof.get("tracking_number")
    entry_raw = proof.get("entry_date")
    entry: date | None = None
    if isinstance(entry_raw, str):
        try:
            entry = date.fromisoformat(entry_raw.strip())
        except ValueError:
            entry = None
    resubmission = body.get("resubmission_of")
    return VerificationForm(
        applicant_iin=str(body.get("applicant_iin") or ""),
        raw_imeis=imei_list,
        proof_kind=str(kind) if kind is not None else None,
        proof_reference=str(reference).strip() if reference else None,
        entry_date=entry,
        entry_date_raw=str(entry_raw) if entry_raw is not None else None,
        resubmission_of=str(resubmission).strip() if resubmission else None,
    )


@dataclass
class CheckOutcome:
    imeis: tuple[str, ...]
    failures: list[Failure] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)  # registries that could not be asked
    models: dict[str, TacModel] = field(default_factory=dict)

    @property
    def decidable(self) -> bool:
        return bool(self.failures) or not self.unavailable


def run_verification_checks(
    conn: Connection,
    form: VerificationForm,
    *,
    now: datetime,
    rules: Rules,
    registries: StateRegistries,
    exclude_application: int | None = None,
) -> CheckOutcome:
    """Every rule of the application except the signature (checked where the body arrives)."""
    device_imeis, failures = read_device_imeis(form.raw_imeis, rules.reserved_tac_prefixes)
    outcome = CheckOutcome(device_imeis, [*check_iin(form.applicant_iin), *failures])
    if not failures and device_imeis:
        outcome.models = tac_models(conn, device_imeis)
        loaded = bool(outcome.models) or tac_database_loaded(conn)  # a TAC found: loaded
        outcome.failures += check_device_consistency(
            device_imeis, outcome.models, tac_database_loaded=loaded
        )
        outcome.failures += check_imei_states(device_imeis, imei_states(conn, device_imeis))
        outcome.failures += _pending_elsewhere(conn, device_imeis, exclude_application)
    proof_failures = check_proof_given(form.proof_kind, form.proof_reference)
    if proof_failures:
        outcome.failures += proof_failures
        return outcome
    try:
        outcome.failures += _proof_failures(conn, form, device_imeis, now, rules, registries)
    except StateRegistryUnavailable:
        outcome.unavailable.append(str(form.proof_kind))
    return outcome


def _proof_failures(
    conn: Connection,
    form: VerificationForm,
    device_imeis: Sequence[str],
    now: datetime,
    rules: Rules,
    registries: StateRegistries,
) -> list[Failure]:
    if form.proof_kind == ProofKind.CUSTOMS:
        declaration = registries.customs.declaration(form.proof_reference or "")
        return check_customs_proof(
            applicant_iin=form.iin,
            imeis=device_imeis,
            declaration_number=form.proof_reference or "",
            declarant_iin=declaration.declarant_iin if declaration else None,
            declared_imeis=declaration.imeis if declaration else frozenset(),
        )
    if form.proof_kind == ProofKind.PARCEL:
        parcel = registries.postal.parcel(form.proof_reference or "")
        return check_parcel_proof(
            applicant_iin=form.iin,
            tracking_number=form.proof_reference or "",
            found=parcel is not None,
            recipient_iin=parcel.recipient_iin if parcel else None,
            delivered_on=parcel.delivered_on if parcel else None,
            description=parcel.description if parcel else "",
        )
    entered = False
    if form.entry_date is not None and form.entry_date <= rules.local_date(now):
        crossings = registries.border.crossings(form.iin, form.entry_date)
        entered = any(crossing.direction == "entry" for crossing in crossings)
    return check_border_proof(
        entry_date=form.entry_date,
        today=rules.local_date(now),
        entered_that_day=entered,
        imeis=device_imeis,
        first_seen_dates=first_seen_dates(conn, device_imeis, rules),
    )


def tac_models(conn: Connection, imei_list: Sequence[str]) -> dict[str, TacModel]:
    rows = conn.execute(select(tacs).where(tacs.c.tac.in_(sorted({i[:8] for i in imei_list}))))
    return {row.tac: TacModel(row.brand, row.model, row.sim_slots) for row in rows}


def imei_states(conn: Connection, imei_list: Sequence[str]) -> dict[str, ImeiState]:
    rows = conn.execute(
        select(imeis.c.imei, imeis.c.list, imeis.c.reported_stolen, imeis.c.gsma_blacklisted).where(
            imeis.c.imei.in_(list(imei_list))
        )
    )
    return {
        row.imei: ImeiState(row.list, row.reported_stolen, row.gsma_blacklisted) for row in rows
    }


def first_seen_dates(conn: Connection, imei_list: Sequence[str], rules: Rules) -> dict[str, date]:
    rows = conn.execute(
        select(imeis.c.imei, imeis.c.first_seen_at).where(
            imeis.c.imei.in_(list(imei_list)), imeis.c.first_seen_at.is_not(None)
        )
    )
    return {row.imei: rules.local_date(row.first_seen_at) for row in rows}


def _pending_elsewhere(
    conn: Connection, device_imeis: Sequence[str], exclude: int | None
) -> list[Failure]:
    """One open application per IMEI: a second one would be paid for and decided twice."""
    query = (
        select(application_imeis.c.imei, applications.c.number)
        .join(applications, applications.c.id == application_imeis.c.application_id)
        .where(
            application_imeis.c.imei.in_(list(device_imeis)),
            applications.c.status.in_(OPEN_STATUSES),
        )
    )
    if exclude is not None:
        query = query.where(applications.c.id != exclude)
    pending = {row.imei: row.number for row in conn.execute(query)}
    return [
        Failure(
            Code.IMEI_APPLICATION_PENDING,
            f"imeis[{position}]",
            {"imei": imei, "number": pending[imei]},
        )
        for position, imei in enumerate(device_imeis)
        if imei in pending
    ]
