"""`create_app`: the HTTP server of the registry. Each feature adds its router here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import tizim
from tizim.clock import Clock, SystemClock
from tizim.interfaces.http import routes_batch_check, routes_imeis, routes_n5g
from tizim.interfaces.http.api_docs import install_api_docs
from tizim.interfaces.http.deps_realtime import stop_owned_realtime
from tizim.interfaces.http.problems import install_problem_handlers
from tizim.interfaces.http.routes_applications import router as applications_router
from tizim.interfaces.http.routes_operator import router as operator_router
from tizim.interfaces.http.routes_orgs import router as orgs_router
from tizim.interfaces.http.routes_uploads import router as uploads_router
from tizim.interfaces.web import install_web
from tizim.runtime import Runtime
from tizim.services.realtime_checks import RealtimeChecks


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    stop_owned_realtime(app)  # flushes the sightings of real-time checks


def create_app(
    runtime: Runtime, clock: Clock | None = None, *, realtime: RealtimeChecks | None = None
) -> FastAPI:
    """`realtime`: the shared status index + check recorder (`tizim serve`); else built lazily."""
    app = FastAPI(
        lifespan=_lifespan,
        title="tizim — national IMEI registry",
        version=tizim.__version__,
        description="White, grey and black lists of mobile equipment (Kazakhstan, 2025 rules).",
        docs_url=None,  # served offline by install_api_docs
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.clock = clock or SystemClock()
    app.state.realtime = realtime
    install_problem_handlers(app)
    install_api_docs(app)
    app.include_router(routes_imeis.router)
    app.include_router(applications_router)
    app.include_router(routes_n5g.router)
    app.add_middleware(routes_n5g.N5gFastLane)
    app.include_router(routes_batch_check.router)
    app.include_router(operator_router)
    app.include_router(orgs_router)
    app.include_router(uploads_router)
    install_web(app)  # the portal's pages and static files

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
