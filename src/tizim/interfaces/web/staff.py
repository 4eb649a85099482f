"""Staff console: sign in and out, the queue of applications awaiting a decision, deciding."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Connection
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tizim.adapters.reference_state import reference_registries
from tizim.adapters.state_registries import StateRegistryUnavailable
from tizim.domain.rules import Rules
from tizim.interfaces.http.deps import CurrentRules, DbConn, Now
from tizim.interfaces.web.forms import read_form, text
from tizim.interfaces.web.rendering import page_language, render
from tizim.interfaces.web.security import (
    STAFF_COOKIE,
    require_staff,
    set_cookie,
    staff_session,
)
from tizim.runtime import Runtime
from tizim.services.applications import application_view, list_applications
from tizim.services.check import check_imei
from tizim.services.decisions import ApplicationStateError, staff_decide
from tizim.services.staff_users import StaffSession, authenticate, end_session, start_session

router = APIRouter(prefix="/staff", include_in_schema=False)
Staff = Annotated[StaffSession, Depends(require_staff)]
QUEUE_STATUSES = ("in_review", "paid")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/staff") -> HTMLResponse:
    return render(request, "staff/login.html", next=_safe_next(next), failed=False, username="")


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, conn: DbConn, now: Now) -> Response:
    form = await read_form(request)
    username = text(form, "username", 64).lower()
    user = authenticate(conn, username=username, password=text(form, "password", 500))
    target = _safe_next(text(form, "next", 200))
    if user is None:
        return render(
            request, "staff/login.html", status=401, next=target, failed=True, username=username
        )
    runtime: Runtime = request.app.state.runtime
    token = start_session(conn, user, now=now, hours=runtime.settings.staff_session_hours)
    response = RedirectResponse(target, status_code=303)
    set_cookie(
        request, response, STAFF_COOKIE, token, max_age=runtime.settings.staff_session_hours * 3600
    )
    return response


@router.post("/logout")
async def logout(request: Request, conn: DbConn) -> Response:
    await read_form(request)
    if staff_session(request) is not None:
        end_session(conn, request.cookies.get(STAFF_COOKIE))
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(STAFF_COOKIE, path="/")
    return response


@router.get("", response_class=HTMLResponse)
def queue(request: Request, conn: DbConn, _staff: Staff) -> HTMLResponse:
    waiting = [a for status in QUEUE_STATUSES for a in list_applications(conn, status=status)]
    recent = list_applications(conn, status=None, limit=500)[-20:][::-1]
    return render(request, "staff/queue.html", waiting=waiting, recent=recent)


@router.get("/applications/{number}", response_class=HTMLResponse)
def application_page(
    request: Request, number: str, conn: DbConn, now: Now, rules: CurrentRules, _staff: Staff
) -> HTMLResponse:
    view = application_view(conn, number, lang=page_language(request), personal=True)
    if view is None:
        return render(request, "error.html", status=404, message_key="error.not_found")
    return render(
        request,
        "staff/application.html",
        app=view,
        evidence=_evidence(conn, view, rules),
        imei_states=[check_imei(conn, imei, now=now, rules=rules) for imei in view["imeis"]],
        error_key=None,
        body_json=json.dumps(view.get("body", {}), ensure_ascii=False, indent=2),
    )


@router.post("/applications/{number}/decide", response_class=HTMLResponse)
async def decide(
    request: Request, number: str, conn: DbConn, now: Now, rules: CurrentRules, staff: Staff
) -> Response:
    form = await read_form(request)
    try:
        staff_decide(
            conn,
            number,
            verdict=text(form, "verdict", 20),
            staff=staff.user.username,
            now=now,
            rules=rules,
            registries=reference_registries(conn, rules),
            note=text(form, "note", 2000) or None,
        )
    except (ApplicationStateError, LookupError):
        return render(request, "error.html", status=409, message_key="staff.decide.not_possible")
    return RedirectResponse(f"/staff/applications/{number}", status_code=303)


def _evidence(conn: Connection, view: dict[str, Any], rules: Rules) -> dict[str, Any]:
    """What the state registries say about the stated proof, to read next to the application."""
    registries = reference_registries(conn, rules)
    reference = view.get("proof_reference") or ""
    found: dict[str, Any] = {"kind": view.get("proof_kind"), "unavailable": False}
    try:
        if view.get("proof_kind") == "customs" and reference:
            found["customs"] = registries.customs.declaration(reference)
        elif view.get("proof_kind") == "parcel" and reference:
            found["parcel"] = registries.postal.parcel(reference)
        elif view.get("proof_kind") == "border" and view.get("entry_date"):
            found["crossings"] = registries.border.crossings(
                str(view.get("applicant_iin") or ""), date.fromisoformat(view["entry_date"])
            )
    except StateRegistryUnavailable:
        found["unavailable"] = True
    return found


def _safe_next(target: str) -> str:
    """Only console paths: a login link must never redirect to another site."""
    return target if target.startswith("/staff") and not target.startswith("//") else "/staff"
