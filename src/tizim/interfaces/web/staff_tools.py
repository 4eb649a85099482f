"""Staff console tools: support tickets and replies, organisations and API keys, import and
feed reports, the clone-suspect report, and IMEI look-up with its full history."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from tizim.interfaces.http.deps import CurrentRules, DbConn, Now
from tizim.interfaces.web.forms import read_form, text
from tizim.interfaces.web.rendering import render
from tizim.interfaces.web.security import require_staff
from tizim.interfaces.web.support_pages import support_policy
from tizim.runtime import Runtime
from tizim.services.check import check_imei
from tizim.services.clones import CloneRules, clone_report
from tizim.services.history import imei_history
from tizim.services.orgs import list_api_keys, list_organisations
from tizim.services.staff_users import StaffSession
from tizim.services.support import (
    SupportProblem,
    attachment_file,
    list_tickets,
    reply_to_ticket,
    ticket_for_staff,
)
from tizim.storage.schema import uploads

router = APIRouter(prefix="/staff", include_in_schema=False)
Staff = Annotated[StaffSession, Depends(require_staff)]


@router.get("/support", response_class=HTMLResponse)
def tickets(request: Request, conn: DbConn, _staff: Staff, status: str = "open") -> HTMLResponse:
    chosen = status if status in ("open", "answered", "all") else "open"
    found = list_tickets(conn, status=None if chosen == "all" else chosen)
    return render(request, "staff/tickets.html", tickets=found, chosen_status=chosen)


@router.get("/support/{number}", response_class=HTMLResponse)
def ticket(request: Request, number: str, conn: DbConn, _staff: Staff) -> HTMLResponse:
    found = ticket_for_staff(conn, number)
    if found is None:
        return render(request, "error.html", status=404, message_key="error.not_found")
    return render(request, "staff/ticket.html", ticket=found, error_key=None)


@router.post("/support/{number}/reply", response_class=HTMLResponse)
async def reply(request: Request, number: str, conn: DbConn, now: Now, staff: Staff) -> Response:
    form = await read_form(request)
    try:
        reply_to_ticket(
            conn,
            number=number,
            author=staff.user.username,
            body=text(form, "body", 10_000),
            now=now,
        )
    except SupportProblem as problem:
        found = ticket_for_staff(conn, number)
        if found is None:
            return render(request, "error.html", status=404, message_key="error.not_found")
        return render(
            request, "staff/ticket.html", status=422, ticket=found, error_key=problem.code
        )
    return RedirectResponse(f"/staff/support/{number}", status_code=303)


@router.get("/support/{number}/attachments/{attachment_id}")
def attachment(
    request: Request, number: str, attachment_id: int, conn: DbConn, _staff: Staff
) -> Response:
    found = attachment_file(
        conn, number=number, attachment_id=attachment_id, policy=support_policy(request)
    )
    if found is None or not found[0].is_file():
        return render(request, "error.html", status=404, message_key="error.not_found")
    path, content_type = found
    return FileResponse(
        path,
        media_type=content_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/orgs", response_class=HTMLResponse)
def organisations(request: Request, conn: DbConn, _staff: Staff) -> HTMLResponse:
    return render(
        request,
        "staff/orgs.html",
        organisations=list_organisations(conn),
        keys=list_api_keys(conn),
    )


@router.get("/uploads", response_class=HTMLResponse)
def upload_reports(request: Request, conn: DbConn, _staff: Staff) -> HTMLResponse:
    rows = conn.execute(select(uploads).order_by(uploads.c.uploaded_at.desc()).limit(200)).all()
    reports = [
        {
            "row": row,
            "errors": (json.loads(row.report).get("errors") or [])[:20] if row.report else [],
        }
        for row in rows
    ]
    return render(request, "staff/uploads.html", reports=reports)


@router.get("/clones", response_class=HTMLResponse)
def clones(request: Request, conn: DbConn, now: Now, _staff: Staff) -> HTMLResponse:
    runtime: Runtime = request.app.state.runtime
    suspects = clone_report(conn, now=now, clone_rules=CloneRules.from_settings(runtime.settings))
    return render(request, "staff/clones.html", suspects=suspects)


@router.get("/imei", response_class=HTMLResponse)
def imei_lookup(
    request: Request, conn: DbConn, now: Now, rules: CurrentRules, _staff: Staff, imei: str = ""
) -> HTMLResponse:
    if not imei.strip():
        return render(request, "staff/imei.html", imei="", result=None, history=None)
    result = check_imei(conn, imei, now=now, rules=rules)
    return render(
        request,
        "staff/imei.html",
        imei=imei,
        result=result,
        history=imei_history(conn, result.imei),
    )
