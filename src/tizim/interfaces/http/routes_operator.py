"""Operators over HTTP: upload observation files, download list generations.

- `POST /api/v1/observations` — the CSV (or gzip) file as the body, streamed to disk and loaded
  by the same service as `tizim ingest observations`. An operator uploads for itself only;
  registry staff may upload on an operator's behalf with `?operator=CODE`.
  201 loaded (report in the body), 200 the same file was already accepted, 422 refused.
- `GET /api/v1/operator-lists/{generation|latest}` — the manifest of a generation, with only
  the files this caller may download; `.../{file}` downloads one. Black, grey and delta lists
  are for every operator; a notification list (MSISDNs: personal data) only for its operator
  and staff — for anyone else it does not exist (404).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from tizim.interfaces.http.auth import Caller, require_roles
from tizim.interfaces.http.deps import DbConn, Now, get_runtime
from tizim.interfaces.http.problems import problem
from tizim.services.clones import CloneRules
from tizim.services.ingest import ingest_observations
from tizim.services.operator_lists import (
    FOR_EVERY_OPERATOR,
    Generation,
    ListFile,
    get_generation,
    latest_generation,
)
from tizim.services.orgs import Role, get_organisation
from tizim.services.uploads import outcome_of

router = APIRouter(prefix="/api/v1", tags=["operators"])
OperatorCaller = Annotated[Caller, Depends(require_roles(Role.OPERATOR))]

CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}, "application/gzip": {}},
    }
}


@router.post(
    "/observations", openapi_extra=CSV_BODY, summary="Operator observations (CSV: seen_at,imei,…)"
)
async def upload_observations(
    request: Request, caller: OperatorCaller, conn: DbConn, now: Now, operator: str | None = None
) -> Any:
    code = _uploading_operator(caller, operator, conn)
    runtime = get_runtime(request)
    file_name = request.query_params.get("file_name", "observations.csv")[:255]
    with tempfile.TemporaryDirectory(prefix="tizim-observations-") as scratch:
        path = Path(scratch) / "upload.csv"
        with path.open("wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
        report = await run_in_threadpool(
            lambda: ingest_observations(
                conn,
                path,
                operator=code,
                now=now,
                rules=runtime.rules,
                bad_row_threshold=runtime.settings.bad_row_threshold,
                clone_rules=CloneRules.from_settings(runtime.settings),
                file_name=file_name,
                uploaded_by=caller.code,
            )
        )
    body = {"upload_id": report.upload_id, "outcome": outcome_of(report), **report.as_dict()}
    if report.refused:
        return problem(422, "The file was refused", report.refusal, report=body)
    return JSONResponse(body, status_code=200 if report.duplicate_of else 201)


def _uploading_operator(caller: Caller, operator: str | None, conn: DbConn) -> str:
    if not caller.is_staff:
        if operator not in (None, caller.code):
            raise HTTPException(403, "an operator uploads its own observations only")
        return caller.code
    if operator is None:
        raise HTTPException(422, "registry staff name the operator: ?operator=CODE")
    organisation = get_organisation(conn, operator)
    if organisation is None or organisation.role is not Role.OPERATOR:
        raise HTTPException(422, f"{operator!r} is not a registered operator")
    return operator


@router.get("/operator-lists/{generation}", summary="Manifest of a list generation (or latest)")
def list_generation(generation: str, caller: OperatorCaller, conn: DbConn) -> dict[str, Any]:
    found = _generation(conn, generation)
    manifest = found.manifest()
    manifest["files"] = [
        {**entry.as_manifest(), "url": f"/api/v1/operator-lists/{found.id}/{entry.name}"}
        for entry in found.files
        if _may_download(caller, entry)
    ]
    return manifest


@router.get("/operator-lists/{generation}/{name}", summary="Download one list file")
def download_list(generation: str, name: str, caller: OperatorCaller, conn: DbConn) -> Any:
    found = _generation(conn, generation)
    entry = found.file(name)
    if entry is None or not _may_download(caller, entry):
        raise HTTPException(404, f"generation {found.id} has no file {name!r}")
    path = found.directory / entry.name
    if not path.is_file():
        raise HTTPException(410, f"the files of generation {found.id} are no longer kept")
    media = "application/gzip" if name.endswith(".gz") else "text/csv"
    return FileResponse(
        path, media_type=media, filename=entry.name, headers={"X-Content-SHA256": entry.sha256}
    )


def _generation(conn: DbConn, generation: str) -> Generation:
    if generation == "latest":
        found = latest_generation(conn)
    elif generation.isdigit():
        found = get_generation(conn, int(generation))
    else:
        raise HTTPException(404, f"no list generation {generation!r}")
    if found is None:
        raise HTTPException(404, f"no list generation {generation!r}")
    return found


def _may_download(caller: Caller, entry: ListFile) -> bool:
    return caller.is_staff or entry.audience in (FOR_EVERY_OPERATOR, caller.code)
