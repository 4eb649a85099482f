"""Support pages: open a request with screenshots; read staff replies with number + secret/IIN."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from tizim.interfaces.http.deps import DbConn, Now
from tizim.interfaces.web.forms import Problems, files, read_form, text
from tizim.interfaces.web.public import client_key, rate_limiter
from tizim.interfaces.web.rendering import page_language, render, translator
from tizim.runtime import Runtime
from tizim.services.support import (
    SupportPolicy,
    SupportProblem,
    Upload,
    open_ticket,
    ticket_for_requester,
)

router = APIRouter(include_in_schema=False)
FIELDS = ("subject", "description", "contact", "iin")


def support_policy(request: Request) -> SupportPolicy:
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    return SupportPolicy(
        upload_dir=settings.support_upload_dir,
        max_attachment_bytes=settings.support_max_attachment_bytes,
        max_attachments=settings.support_max_attachments,
        answer_working_days=settings.support_answer_working_days,
        calendar=settings.working_calendar,
        rules=runtime.rules,
    )


@router.get("/support", response_class=HTMLResponse)
def support_form(request: Request) -> HTMLResponse:
    return _form_page(request, dict.fromkeys(FIELDS, ""), Problems())


@router.post("/support", response_class=HTMLResponse)
async def support_submit(request: Request, conn: DbConn, now: Now) -> HTMLResponse:
    policy = support_policy(request)
    form = await read_form(
        request,
        max_files=policy.max_attachments + 1,
        max_part_bytes=policy.max_attachment_bytes + 1024,
    )
    values = {name: text(form, name, 10_000) for name in FIELDS}
    if not rate_limiter(request).hit("support", client_key(request), now=now).allowed:
        problems = Problems()
        problems.add("_form", translator(page_language(request))("check.rate_limited", seconds=60))
        return _form_page(request, values, problems, status=429)
    uploads = [
        Upload(name, data)
        for name, data in await files(form, "attachments", policy.max_attachment_bytes)
    ]
    try:
        opened = open_ticket(
            conn,
            **values,
            language=page_language(request),
            uploads=uploads,
            now=now,
            policy=policy,
        )
    except SupportProblem as problem:
        problems = Problems()
        _ = translator(page_language(request))
        problems.add(problem.field, _(problem.code, **problem.params))
        return _form_page(request, values, problems, status=422)
    return render(request, "support_opened.html", ticket=opened)


@router.get("/support/ticket", response_class=HTMLResponse)
def ticket_lookup(request: Request, number: str = "") -> HTMLResponse:
    return render(request, "support_lookup.html", number=number, ticket=None, not_found=False)


@router.post("/support/ticket", response_class=HTMLResponse)
async def ticket_show(request: Request, conn: DbConn) -> HTMLResponse:
    form = await read_form(request)
    number = text(form, "number", 20)
    ticket = ticket_for_requester(
        conn, number=number, secret=text(form, "secret", 100), iin=text(form, "iin", 20)
    )
    return render(
        request,
        "support_lookup.html",
        status=200 if ticket else 404,
        number=number,
        ticket=ticket,
        not_found=ticket is None,
    )


def _form_page(
    request: Request, values: dict[str, str], problems: Problems, status: int = 200
) -> HTMLResponse:
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    return render(
        request,
        "support_form.html",
        status=status,
        values=values,
        errors=problems.as_dict(),
        max_files=settings.support_max_attachments,
        max_megabytes=f"{settings.support_max_attachment_bytes / 1_000_000:g}",
        answer_days=settings.support_answer_working_days,
    )
