"""The web portal and staff console: server-rendered pages on the registry's FastAPI app.

`install_web(app)` mounts the static files and includes every page router; page text comes
from the "pages" message catalogue in kk, ru and en (`tizim/locale/*/LC_MESSAGES/pages.po`).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from tizim.interfaces.web import (
    applications_pages,
    dashboard,
    public,
    staff,
    staff_tools,
    support_pages,
)
from tizim.interfaces.web.rendering import STATIC_DIR, render
from tizim.interfaces.web.security import CsrfRejected, LoginRequired


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (public, applications_pages, support_pages, staff, staff_tools, dashboard):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _error: LoginRequired) -> Response:
        return RedirectResponse(f"/staff/login?next={request.url.path}", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def csrf_rejected(request: Request, _error: CsrfRejected) -> Response:
        return render(request, "error.html", status=403, message_key="error.csrf")
