"""`create_app`: the HTTP server of the registry. Each feature adds its router here."""

from __future__ import annotations

from fastapi import FastAPI

import tizim
from tizim.clock import Clock, SystemClock
from tizim.interfaces.http import routes_imeis
from tizim.interfaces.http.problems import install_problem_handlers
from tizim.runtime import Runtime


def create_app(runtime: Runtime, clock: Clock | None = None) -> FastAPI:
    app = FastAPI(
        title="tizim — national IMEI registry",
        version=tizim.__version__,
        description="White, grey and black lists of mobile equipment (Kazakhstan, 2025 rules).",
    )
    app.state.runtime = runtime
    app.state.clock = clock or SystemClock()
    install_problem_handlers(app)
    app.include_router(routes_imeis.router)

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
