"""Owner applications over HTTP: `/api/v1/applications`.

Who may call what:
- verification providers (API key, role `verification_provider`; several providers feed one
  registry) pre-check, submit, take payment for and follow the applications they accepted;
- the applicant sees their own application without any key, by proving who they are: they
  sign the challenge `{"action": "view-application", "number": N, "date": "YYYY-MM-DD"}`
  (today, Asia/Almaty, ±1 day for clock skew) with the EDS whose certificate carries the
  application's IIN. A signed, dated challenge rather than replaying the application's own
  signature: the latter was handed to the provider and must not become a password;
- registry staff list the queue and decide.
Nobody else gets any personal data: an unknown number, another provider's application and a
failed owner proof all answer the same 404.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tizim.adapters.payments import PaymentDeclined, ReferencePaymentGateway
from tizim.adapters.reference_state import reference_registries
from tizim.domain.applications import Failure
from tizim.domain.fees import FeeNotConfigured
from tizim.i18n import negotiate_language
from tizim.interfaces.http.auth import Caller, StaffCaller, require_roles
from tizim.interfaces.http.deps import CurrentRules, DbConn, Now, get_runtime
from tizim.interfaces.http.problems import problem
from tizim.runtime import Runtime
from tizim.services.applications import (
    ApplicationPolicy,
    ApplicationRejected,
    application_view,
    list_applications,
    pay_application,
    precheck_application,
    render_failures,
    submit_application,
)
from tizim.services.decisions import ApplicationStateError, application_row, staff_decide
from tizim.services.orgs import Role
from tizim.services.pairing import submit_pairing
from tizim.services.signatures import verify_signed_body

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])
ProviderCaller = Annotated[Caller, Depends(require_roles(Role.VERIFICATION_PROVIDER))]


class SignedBody(BaseModel):
    body: dict[str, Any] = Field(description="The application; its canonical JSON is signed")
    signature: str = Field("", description="base64 of the EDS signature (ECDSA: DER)")
    certificate: str = Field("", description="the signer's X.509 certificate, PEM")


class OwnerProof(BaseModel):
    challenge: dict[str, Any]
    signature: str
    certificate: str


class StaffDecision(BaseModel):
    verdict: str = Field(pattern="^(approve|refuse|recheck)$")
    note: str | None = None


def language(
    lang: Annotated[str | None, Query(description="kk, ru or en")] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> str:
    return negotiate_language(accept_language, lang)


Lang = Annotated[str, Depends(language)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _policy(runtime: Runtime) -> ApplicationPolicy:
    return ApplicationPolicy.from_settings(runtime.settings)


def _refused(status: int, title: str, failures: list[Failure], lang: str) -> JSONResponse:
    return problem(status, title, reasons=render_failures(failures, lang))


@router.post("/precheck", summary="Run every check without storing or charging")
def precheck(
    signed: SignedBody,
    conn: DbConn,
    now: Now,
    rules: CurrentRules,
    runtime: RuntimeDep,
    lang: Lang,
    _caller: ProviderCaller,
) -> Any:
    try:
        result = precheck_application(
            conn,
            signed.body,
            signed.signature,
            signed.certificate,
            now=now,
            rules=rules,
            policy=_policy(runtime),
            registries=reference_registries(conn, rules),
        )
    except FeeNotConfigured as error:
        return problem(503, "The fee cannot be computed", str(error))
    return {
        "acceptable": not result.failures and not result.unavailable,
        "fee_kzt": result.fee_kzt,
        "reasons": render_failures(result.failures, lang),
        "registries_unavailable": result.unavailable,
    }


@router.post("", status_code=201, summary="Submit a signed verification application")
def submit(
    signed: SignedBody,
    conn: DbConn,
    now: Now,
    rules: CurrentRules,
    runtime: RuntimeDep,
    lang: Lang,
    caller: ProviderCaller,
) -> Any:
    try:
        number = submit_application(
            conn,
            signed.body,
            signed.signature,
            signed.certificate,
            provider=caller.code,
            language=lang,
            now=now,
            rules=rules,
            policy=_policy(runtime),
            registries=reference_registries(conn, rules),
        )
    except ApplicationRejected as rejected:
        return _refused(422, "The application is not accepted", rejected.failures, lang)
    except FeeNotConfigured as error:
        return problem(503, "The fee cannot be computed", str(error))
    return JSONResponse(application_view(conn, number, lang=lang, personal=True), 201)


@router.post("/pairing", status_code=201, summary="Simplified application for a second IMEI")
def pairing(
    signed: SignedBody,
    conn: DbConn,
    now: Now,
    rules: CurrentRules,
    runtime: RuntimeDep,
    lang: Lang,
    caller: ProviderCaller,
) -> Any:
    try:
        number, _failures = submit_pairing(
            conn,
            signed.body,
            signed.signature,
            signed.certificate,
            provider=caller.code,
            language=lang,
            now=now,
            rules=rules,
            policy=_policy(runtime),
        )
    except ApplicationRejected as rejected:
        return _refused(422, "The application is not accepted", rejected.failures, lang)
    return JSONResponse(application_view(conn, number, lang=lang, personal=True), 201)


@router.get("", summary="Staff: applications by status (the queue is status=in_review)")
def queue(
    conn: DbConn, _staff: StaffCaller, status: str | None = "in_review", limit: int = 100
) -> list[dict[str, Any]]:
    return list_applications(conn, status=status, limit=min(max(limit, 1), 1000))


def _visible_to(conn: DbConn, number: str, caller: Caller) -> None:
    row = application_row(conn, number)
    if row is None or not (caller.is_staff or row.provider == caller.code):
        raise HTTPException(404, "No such application")


@router.get("/{number}", summary="An application, for its provider and for staff")
def get_application(number: str, conn: DbConn, lang: Lang, caller: ProviderCaller) -> Any:
    _visible_to(conn, number, caller)
    return application_view(conn, number, lang=lang, personal=True)


@router.post("/{number}/payments", summary="Pay the fee (reference gateway); decides at once")
def pay(
    number: str, conn: DbConn, now: Now, rules: CurrentRules, lang: Lang, caller: ProviderCaller
) -> Any:
    _visible_to(conn, number, caller)
    try:
        reference = pay_application(
            conn,
            number,
            gateway=ReferencePaymentGateway(conn),
            now=now,
            rules=rules,
            registries=reference_registries(conn, rules),
            actor=f"provider:{caller.code}",
        )
    except ApplicationStateError as error:
        return problem(409, "Nothing to pay", str(error))
    except PaymentDeclined as error:
        return problem(402, "The payment was declined", str(error))
    view = application_view(conn, number, lang=lang, personal=True) or {}
    return {**view, "payment_reference": reference}


@router.post("/{number}/owner-view", summary="The applicant's own application (EDS-signed)")
def owner_view(
    number: str,
    proof: OwnerProof,
    conn: DbConn,
    now: Now,
    rules: CurrentRules,
    runtime: RuntimeDep,
    lang: Lang,
) -> Any:
    row = application_row(conn, number)
    not_found = HTTPException(404, "No such application, or the proof is not valid")
    if row is None or not _challenge_fresh(proof.challenge, number, now, rules):
        raise not_found
    failures = verify_signed_body(
        proof.challenge,
        signature_b64=proof.signature,
        certificate_pem=proof.certificate,
        iin=row.applicant_iin,
        now=now,
        trust=_policy(runtime).trust,
    )
    if failures:
        raise not_found
    return application_view(conn, number, lang=lang, personal=True)


def _challenge_fresh(challenge: dict[str, Any], number: str, now: Any, rules: Any) -> bool:
    today = rules.local_date(now)
    allowed = {(today + timedelta(days=d)).isoformat() for d in (-1, 0, 1)}
    return (
        challenge.get("action") == "view-application"
        and challenge.get("number") == number
        and challenge.get("date") in allowed
    )


@router.post("/{number}/decision", summary="Staff: approve, refuse or re-check a queued one")
def decide(
    number: str,
    decision: StaffDecision,
    conn: DbConn,
    now: Now,
    rules: CurrentRules,
    lang: Lang,
    staff: StaffCaller,
) -> Any:
    if application_row(conn, number) is None:
        raise HTTPException(404, "No such application")
    try:
        staff_decide(
            conn,
            number,
            verdict=decision.verdict,
            staff=staff.code,
            now=now,
            rules=rules,
            registries=reference_registries(conn, rules),
            note=decision.note,
        )
    except ApplicationStateError as error:
        return problem(409, "The application cannot be decided", str(error))
    return application_view(conn, number, lang=lang, personal=True)
