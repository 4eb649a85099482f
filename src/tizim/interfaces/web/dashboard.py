"""Statistics: the public summary (`/stats`) and the full staff dashboard (`/staff/stats`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import HTMLResponse

from tizim.interfaces.http.deps import CurrentRules, DbConn, Now
from tizim.interfaces.web.charts import bar_chart, line_chart
from tizim.interfaces.web.rendering import page_language, render, translator
from tizim.interfaces.web.security import require_staff
from tizim.services.dashboard_stats import LISTS, Dashboard, dashboard
from tizim.services.staff_users import StaffSession

router = APIRouter(include_in_schema=False)
Staff = Annotated[StaffSession, Depends(require_staff)]


@router.get("/stats", response_class=HTMLResponse)
def public_stats(request: Request, conn: DbConn, now: Now, rules: CurrentRules) -> HTMLResponse:
    found = dashboard(conn, now=now, rules=rules)
    return render(request, "stats.html", full=False, **_charts(request, found))


@router.get("/staff/stats", response_class=HTMLResponse)
def staff_stats(
    request: Request, conn: DbConn, now: Now, rules: CurrentRules, _staff: Staff
) -> HTMLResponse:
    found = dashboard(conn, now=now, rules=rules)
    return render(request, "stats.html", full=True, **_charts(request, found))


def _charts(request: Request, found: Dashboard) -> dict[str, Any]:
    _ = translator(page_language(request))
    labels = [day.strftime("%d.%m") for day in found.days]
    names = {name: _("list." + name) for name in LISTS}
    weeks = list(found.current.grace_by_week.items())[:8]
    return {
        "stats": found,
        "labels": labels,
        "list_names": names,
        "grace_weeks": weeks,
        "chart_lists": line_chart(_("stats.lists"), labels, found.list_sizes, names),
        "chart_blocked": bar_chart(_("stats.blocked"), labels, found.blocked_per_day, "b"),
        "chart_submitted": bar_chart(_("stats.submitted"), labels, found.submitted_per_day, "a"),
        "chart_fees": bar_chart(_("stats.fees"), labels, found.fees_per_day, "c"),
        "chart_grace": bar_chart(
            _("stats.grace"),
            [week.strftime("%d.%m") for week, _count in weeks],
            [count for _week, count in weeks],
            "a",
        ),
    }
