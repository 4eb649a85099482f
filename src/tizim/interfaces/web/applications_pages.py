"""Owner pages: the verification form with its pre-check, submission and payment, and
"my applications" (status, history, refusal reasons, fix and re-submit).

The pre-check runs every check a decision would make, without storing or charging, and each
problem is shown next to the field it is about. In the demo (when only the shipped TEST CA is
trusted) the applicant may sign with a test certificate issued on the spot; otherwise they
upload their signature and certificate, made with their own EDS tool.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse

from tizim.adapters.payments import ReferencePaymentGateway
from tizim.adapters.reference_state import reference_registries
from tizim.domain.applications import Failure
from tizim.eds_test_ca import issue_test_certificate, sign_body
from tizim.interfaces.http.deps import CurrentRules, DbConn, Now
from tizim.interfaces.web.forms import Problems, files, read_form, text
from tizim.interfaces.web.rendering import page_language, render
from tizim.runtime import Runtime
from tizim.services.applications import (
    ApplicationPolicy,
    ApplicationRejected,
    application_view,
    pay_application,
    precheck_application,
    render_failures,
    submit_application,
)
from tizim.services.decisions import application_row
from tizim.services.signatures import canonical_json

router = APIRouter(include_in_schema=False)
IMEI_SLOTS = 4
PROOF_FIELDS = {
    "customs": "declaration_number",
    "border": "entry_date",
    "parcel": "tracking_number",
}
FORM_FIELDS = ("iin", "proof_kind", "resubmission_of", "sign_mode", *PROOF_FIELDS.values())
# The service names fields as in the signed body; the form names them for people.
FIELD_OF = {
    "applicant_iin": "iin",
    "proof.kind": "proof_kind",
    "proof.declaration_number": "declaration_number",
    "proof.entry_date": "entry_date",
    "proof.tracking_number": "tracking_number",
    "signature": "signature",
    "certificate": "signature",
    "resubmission_of": "_form",
}


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _policy(request: Request) -> ApplicationPolicy:
    return ApplicationPolicy.from_settings(_runtime(request).settings)


def demo_signing(request: Request) -> bool:
    """The test-certificate step exists only while the TEST CA is the only trusted root."""
    return not _runtime(request).settings.eds_trusted_ca_files


@router.get("/verify", response_class=HTMLResponse)
def verify_form(request: Request, now: Now, rules: CurrentRules) -> HTMLResponse:
    values: dict[str, Any] = dict.fromkeys(FORM_FIELDS, "")
    values["sign_mode"] = "test" if demo_signing(request) else "upload"
    values["imeis"] = [""] * IMEI_SLOTS
    return _form_page(request, values, Problems(), now=now, rules=rules)


@router.post("/verify", response_class=HTMLResponse)
async def verify_submit(
    request: Request, conn: DbConn, now: Now, rules: CurrentRules
) -> HTMLResponse:
    form = await read_form(request, max_files=2, max_part_bytes=64 * 1024)
    values = _values(form)
    body, positions = _body(values)
    signature, certificate = await _signature(request, form, values, body, now)
    lang = page_language(request)
    policy = _policy(request)
    registries = reference_registries(conn, rules)
    if text(form, "action", 20) != "submit":
        result = precheck_application(
            conn,
            body,
            signature,
            certificate,
            now=now,
            rules=rules,
            policy=policy,
            registries=registries,
        )
        problems = _problems(result.failures, positions, lang)
        return _form_page(
            request,
            values,
            problems,
            now=now,
            rules=rules,
            prechecked=True,
            fee=result.fee_kzt,
            unavailable=result.unavailable,
            to_sign=canonical_json(body).decode(),
        )
    try:
        number = submit_application(
            conn,
            body,
            signature or "",
            certificate or "",
            provider=None,
            language=lang,
            now=now,
            rules=rules,
            policy=policy,
            registries=registries,
        )
    except ApplicationRejected as rejected:
        problems = _problems(rejected.failures, positions, lang)
        return _form_page(request, values, problems, now=now, rules=rules, status=422)
    row = application_row(conn, number)
    if row is not None and row.status == "awaiting_payment":
        pay_application(
            conn,
            number,
            gateway=ReferencePaymentGateway(conn),
            now=now,
            rules=rules,
            registries=registries,
            actor="applicant",
        )
    return _application_page(request, conn, number, body["applicant_iin"], submitted=True)


@router.get("/my", response_class=HTMLResponse)
def my_form(request: Request, number: str = "") -> HTMLResponse:
    return render(request, "my.html", number=number, not_found=False)


@router.post("/my", response_class=HTMLResponse)
async def my_application(request: Request, conn: DbConn) -> HTMLResponse:
    form = await read_form(request)
    number, iin = text(form, "number", 20).upper(), text(form, "iin", 20).replace(" ", "")
    if not _owner(conn, number, iin):
        return render(request, "my.html", status=404, number=number, not_found=True)
    return _application_page(request, conn, number, iin, submitted=False)


@router.post("/my/fix", response_class=HTMLResponse)
async def fix_application(
    request: Request, conn: DbConn, now: Now, rules: CurrentRules
) -> HTMLResponse:
    """The refused application's form again, with what was right kept and each problem marked."""
    form = await read_form(request)
    number, iin = text(form, "number", 20).upper(), text(form, "iin", 20).replace(" ", "")
    if not _owner(conn, number, iin):
        return render(request, "my.html", status=404, number=number, not_found=True)
    lang = page_language(request)
    view = application_view(conn, number, lang=lang, personal=True) or {}
    body = view.get("body") or {}
    proof = body.get("proof") or {}
    imeis = [str(i) for i in body.get("imeis") or []][:IMEI_SLOTS]
    values: dict[str, Any] = {
        "iin": iin,
        "proof_kind": proof.get("kind", ""),
        "resubmission_of": number,
        "sign_mode": "test" if demo_signing(request) else "upload",
        **{name: str(proof.get(name, "")) for name in PROOF_FIELDS.values()},
        "imeis": imeis + [""] * (IMEI_SLOTS - len(imeis)),
    }
    problems = Problems()
    for reason in view.get("reasons", []):
        problems.add(_field(reason.get("field"), list(range(IMEI_SLOTS))), reason["message"])
    return _form_page(request, values, problems, now=now, rules=rules, fixing=number)


def _owner(conn: Connection, number: str, iin: str) -> bool:
    row = application_row(conn, number) if number else None
    return row is not None and bool(iin) and row.applicant_iin == iin


def _values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: text(form, name, 100) for name in FORM_FIELDS}
    values["imeis"] = [text(form, f"imei_{slot}", 40) for slot in range(1, IMEI_SLOTS + 1)]
    return values


def _body(values: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """The canonical application body, and for each IMEI in it the form slot it came from."""
    positions = [slot for slot, imei in enumerate(values["imeis"]) if imei]
    kind = values["proof_kind"]
    proof: dict[str, Any] = {"kind": kind} if kind else {}
    if kind in PROOF_FIELDS and values[PROOF_FIELDS[kind]]:
        proof[PROOF_FIELDS[kind]] = values[PROOF_FIELDS[kind]]
    body: dict[str, Any] = {
        "applicant_iin": values["iin"].replace(" ", ""),
        "imeis": [values["imeis"][slot] for slot in positions],
        "proof": proof,
    }
    if values["resubmission_of"]:
        body["resubmission_of"] = values["resubmission_of"]
    return body, positions


async def _signature(
    request: Request, form: FormData, values: dict[str, Any], body: dict[str, Any], now: Any
) -> tuple[str | None, str | None]:
    if values["sign_mode"] == "test" and demo_signing(request):
        iin = body["applicant_iin"]
        if not (len(iin) == 12 and iin.isdigit()):
            return None, None  # the IIN's own problem is reported; nothing to sign for
        issued = issue_test_certificate(iin, now=now)
        return sign_body(body, issued.key_pem), issued.certificate_pem
    uploaded = dict(await files(form, "signature_file", 64 * 1024))
    certificate = await files(form, "certificate_file", 64 * 1024)
    signature = next(iter(uploaded.values()), b"").decode("ascii", "replace").strip()
    cert_text = certificate[0][1].decode("ascii", "replace") if certificate else ""
    return signature or None, cert_text or None


def _field(name: str | None, positions: list[int]) -> str:
    if name and name.startswith("imeis[") and name.endswith("]"):
        index = int(name[6:-1])
        slot = positions[index] if index < len(positions) else index
        return f"imei_{slot + 1}"
    return FIELD_OF.get(name or "", name or "_form")


def _problems(failures: list[Failure], positions: list[int], lang: str) -> Problems:
    problems = Problems()
    for reason in render_failures(failures, lang):
        problems.add(_field(reason["field"], positions), reason["message"])
    return problems


def _form_page(
    request: Request,
    values: dict[str, Any],
    problems: Problems,
    *,
    now: Any,
    rules: Any,
    status: int = 200,
    prechecked: bool = False,
    fee: int | None = None,
    unavailable: list[str] | None = None,
    fixing: str | None = None,
    to_sign: str = "",
) -> HTMLResponse:
    policy = _policy(request)
    year = rules.local_date(now).year
    mrp = policy.mrp_by_year.get(year)
    return render(
        request,
        "verify.html",
        status=status,
        values=values,
        errors=problems.as_dict(),
        prechecked=prechecked,
        fee=fee if fee is not None else mrp,
        mrp=mrp,
        year=year,
        unavailable=unavailable or [],
        demo=demo_signing(request),
        fixing=fixing,
        free_days=policy.free_resubmission_days,
        to_sign=to_sign,
    )


def _application_page(
    request: Request, conn: Connection, number: str, iin: str, *, submitted: bool
) -> HTMLResponse:
    """Status, history and reasons; no personal data beyond what the person typed in."""
    view = application_view(conn, number, lang=page_language(request), personal=False)
    return render(request, "my_application.html", app=view, iin=iin, submitted=submitted)
