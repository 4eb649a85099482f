"""File uploads over HTTP: registrations, repairs, police reports, GSMA feeds; their reports.

The body is the CSV file itself (optionally gzip), streamed to a temporary file and loaded by
the same service as the CLI. Who may send what: importers and manufacturers their
registrations, service centres repairs, the police stolen reports, registry staff everything
(including the GSMA feeds). A report is visible to the organisation that uploaded it and to
staff; to anyone else it does not exist (404).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, select

from tizim.interfaces.http.auth import Caller, require_roles
from tizim.interfaces.http.deps import DbConn, Now, get_runtime
from tizim.interfaces.http.problems import problem
from tizim.services.csv_input import UploadReport
from tizim.services.gsma_feeds import load_gsma_blacklist, load_tac_database
from tizim.services.orgs import OrganisationError, Role
from tizim.services.police import load_police_reports
from tizim.services.registrations import register_devices
from tizim.services.repairs import load_repairs
from tizim.services.uploads import outcome_of
from tizim.storage.schema import uploads

router = APIRouter(prefix="/api/v1", tags=["uploads"])

Registrar = Annotated[Caller, Depends(require_roles(Role.IMPORTER, Role.MANUFACTURER))]
ServiceCentre = Annotated[Caller, Depends(require_roles(Role.SERVICE_CENTRE))]
Police = Annotated[Caller, Depends(require_roles(Role.POLICE))]
Staff = Annotated[Caller, Depends(require_roles(Role.REGISTRY_STAFF))]
AnyUploader = Annotated[Caller, Depends(require_roles(*Role))]

CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}, "application/gzip": {}},
    }
}


async def _receive(
    request: Request,
    conn: Connection,
    now: datetime,
    load: Callable[..., UploadReport],
    **specific: Any,
) -> Any:
    """Stream the body to a scratch file and run `load` on it with the options every loader
    takes (time, rules, threshold, file name) plus the loader's own `specific` ones."""
    runtime = get_runtime(request)

    def run(path: Path) -> UploadReport:
        return load(
            conn,
            path,
            now=now,
            rules=runtime.rules,
            bad_row_threshold=runtime.settings.bad_row_threshold,
            file_name=_file_name(request),
            **specific,
        )

    with tempfile.TemporaryDirectory(prefix="tizim-upload-") as scratch:
        path = Path(scratch) / "upload.csv"
        with path.open("wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
        try:
            report = await run_in_threadpool(run, path)
        except OrganisationError as error:
            raise HTTPException(403, str(error)) from None
    body = {"upload_id": report.upload_id, "outcome": outcome_of(report), **report.as_dict()}
    if report.refused:
        return problem(422, "The file was refused", report.refusal, report=body)
    return JSONResponse(body, status_code=200 if report.duplicate_of else 201)


def _file_name(request: Request) -> str:
    return request.query_params.get("file_name", "upload.csv")[:255]


@router.post("/registrations", openapi_extra=CSV_BODY, summary="Trusted registrations (CSV)")
async def upload_registrations(request: Request, caller: Registrar, conn: DbConn, now: Now) -> Any:
    if caller.is_staff:
        raise HTTPException(403, "registrations are sent by the importer or manufacturer itself")
    return await _receive(
        request, conn, now, register_devices, organisation=caller.code, uploaded_by=caller.code
    )


@router.post("/repairs", openapi_extra=CSV_BODY, summary="Service-centre repairs (CSV)")
async def upload_repairs(request: Request, caller: ServiceCentre, conn: DbConn, now: Now) -> Any:
    return await _receive(
        request, conn, now, load_repairs, organisation=caller.code, loaded_by=caller.code
    )


@router.post("/police-reports", openapi_extra=CSV_BODY, summary="Stolen/recovered (CSV)")
async def upload_police(request: Request, caller: Police, conn: DbConn, now: Now) -> Any:
    return await _receive(
        request, conn, now, load_police_reports, organisation=caller.code, loaded_by=caller.code
    )


@router.post("/feeds/tac", openapi_extra=CSV_BODY, summary="GSMA TAC database, full replace")
async def upload_tac(request: Request, caller: Staff, conn: DbConn, now: Now) -> Any:
    return await _receive(request, conn, now, load_tac_database, loaded_by=caller.code)


@router.post("/feeds/gsma-blacklist", openapi_extra=CSV_BODY, summary="GSMA blacklist")
async def upload_gsma(
    request: Request, caller: Staff, conn: DbConn, now: Now, full: bool = False
) -> Any:
    return await _receive(request, conn, now, load_gsma_blacklist, loaded_by=caller.code, full=full)


@router.get("/uploads/{upload_id}", summary="The report of one upload")
def get_upload(upload_id: int, caller: AnyUploader, conn: DbConn) -> dict[str, Any]:
    row = conn.execute(select(uploads).where(uploads.c.id == upload_id)).first()
    if row is None or not (caller.is_staff or caller.code in (row.organisation, row.uploaded_by)):
        raise HTTPException(404, f"no upload {upload_id}")  # others' uploads do not exist
    return {
        "upload_id": row.id,
        "kind": row.kind,
        "organisation": row.organisation,
        "outcome": row.outcome,
        "uploaded_at": row.uploaded_at.isoformat(),
        "report": json.loads(row.report),
    }
