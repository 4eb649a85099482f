"""Public pages: the home page and "check before you buy" (no personal data, rate-limited)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from tizim.interfaces.http.deps import CurrentRules, DbConn, Now
from tizim.interfaces.web.rendering import render
from tizim.runtime import Runtime
from tizim.services.check import CheckResult, check_imei
from tizim.services.rate_limit import RateLimiter, make_rate_limiter

router = APIRouter(include_in_schema=False)
MAX_IMEIS_PER_CHECK = 10


def rate_limiter(request: Request) -> RateLimiter:
    """One limiter per app, made on first use from the settings (Redis when configured)."""
    limiter: RateLimiter | None = getattr(request.app.state, "web_rate_limiter", None)
    if limiter is None:
        settings = _runtime(request).settings
        limiter = make_rate_limiter(
            settings.redis_url,
            limit=settings.check_rate_limit,
            window_seconds=settings.check_rate_window_seconds,
        )
        request.app.state.web_rate_limiter = limiter
    return limiter


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")


@router.get("/check", response_class=HTMLResponse)
def check_page(
    request: Request, conn: DbConn, now: Now, rules: CurrentRules, imeis: str = ""
) -> HTMLResponse:
    wanted = [part for part in re.split(r"[\s,;]+", imeis) if part][:MAX_IMEIS_PER_CHECK]
    if not wanted:
        return render(request, "check.html", imeis=imeis, results=[], error_key=None)
    decision = rate_limiter(request).hit("check", client_key(request), now=now)
    if not decision.allowed:
        response = render(
            request,
            "check.html",
            status=429,
            imeis=imeis,
            results=[],
            error_key="check.rate_limited",
            retry_after=decision.retry_after_seconds,
        )
        response.headers["Retry-After"] = str(decision.retry_after_seconds)
        return response
    results = [_result_view(check_imei(conn, raw, now=now, rules=rules)) for raw in wanted]
    return render(request, "check.html", imeis=imeis, results=results, error_key=None)


def _result_view(result: CheckResult) -> dict[str, Any]:
    """What the buyer sees: the list, the model, the deadline, advice — nothing personal."""
    return {
        "imei": result.imei,
        "list": result.list.value,
        "reasons": [reason.value for reason in result.reasons],
        "grace_deadline": result.grace_deadline,
        "device": f"{result.device.brand} {result.device.model}" if result.device else None,
        "advice_key": f"check.advice.{result.list.value}",
    }


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime
