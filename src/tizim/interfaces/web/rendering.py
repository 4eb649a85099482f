"""Jinja2 rendering with the person's language, CSRF token and formatting helpers."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from tizim.i18n import LANGUAGES, negotiate_language, translate
from tizim.interfaces.web.security import (
    CSRF_COOKIE,
    LANG_COOKIE,
    form_csrf_token,
    set_cookie,
    staff_session,
)
from tizim.runtime import Runtime

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
PAGES = "pages"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html", "svg"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def page_language(request: Request) -> str:
    """`?lang=` wins, then a `lang` form field, then the cookie, then Accept-Language, then kk."""
    explicit = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return negotiate_language(request.headers.get("accept-language"), explicit)


def translator(lang: str) -> Any:
    def gettext(key: str, **params: Any) -> str:
        return translate(key, lang, domain=PAGES, **params)

    return gettext


def local_date(request: Request, moment: datetime | date | str | None) -> str:
    """dd.mm.yyyy in the registry's time zone, as Kazakh and Russian readers expect."""
    if moment is None or moment == "":
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if isinstance(moment, datetime):
        runtime: Runtime = request.app.state.runtime
        moment = runtime.rules.local_date(moment)
    return moment.strftime("%d.%m.%Y")


def local_time(request: Request, moment: datetime | str | None) -> str:
    if moment is None or moment == "":
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    runtime: Runtime = request.app.state.runtime
    return moment.astimezone(runtime.rules.zone).strftime("%d.%m.%Y %H:%M")


def money(amount: int | None) -> str:
    """3 932 ₸ (a thin space between thousands, as in kk and ru typography)."""
    return "—" if amount is None else f"{amount:,}".replace(",", "\u202f") + "\u00a0₸"


def url_with_lang(request: Request, lang: str) -> str:
    query = dict(request.query_params)
    query["lang"] = lang
    return f"{request.url.path}?{urlencode(query)}"


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    lang = page_language(request)
    values = {
        "request": request,
        "lang": lang,
        "languages": LANGUAGES,
        "_": translator(lang),
        "reason": lambda code, **params: translate(code, lang, domain="reasons", **params),
        "csrf_token": form_csrf_token(request),
        "staff": staff_session(request),
        "local_date": lambda moment: local_date(request, moment),
        "local_time": lambda moment: local_time(request, moment),
        "money": money,
        "lang_url": lambda code: url_with_lang(request, code),
        **context,
    }
    html = environment.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status)
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES and chosen != request.cookies.get(LANG_COOKIE):
        set_cookie(request, response, LANG_COOKIE, chosen, max_age=365 * 24 * 3600)
    new_csrf = getattr(request.state, "new_csrf", None)
    if new_csrf:
        set_cookie(request, response, CSRF_COOKIE, new_csrf)
    response.headers["Content-Language"] = lang
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
        " frame-ancestors 'none'; form-action 'self'"
    )
    return response
