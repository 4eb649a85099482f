"""`/docs`: Swagger UI served by the registry itself, so it works inside a state network with
no internet (FastAPI's default page loads its script and style from a CDN and stays blank
there). The assets come from the `fastapi-offline` package (Swagger UI 5, which reads the
OpenAPI 3.1 that FastAPI writes); only its files are used: the page is ours and has no inline
script, so a strict `script-src 'self'` content policy allows it.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"
_INIT_SCRIPT = Path(__file__).with_name("static_docs") / "swagger-init.js"
_VENDORED = Path(fastapi_offline.__file__).with_name("static")


def install_api_docs(app: FastAPI) -> None:
    """Serve `/docs` (the page), its vendored assets and the start-up script."""
    page = _page(app.title)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(f"{ASSETS_URL}/swagger-init.js", include_in_schema=False)
    async def swagger_init() -> FileResponse:
        return FileResponse(_INIT_SCRIPT, media_type="text/javascript")

    app.mount(ASSETS_URL, StaticFiles(directory=str(_VENDORED)), name="api-docs-assets")


def _page(title: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} — API</title>
<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>
<script src="{ASSETS_URL}/swagger-init.js"></script>
</body>
</html>
"""
