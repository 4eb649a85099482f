"""`tizim serve`: the HTTP server (API, pages, N5g-eir) and Diameter S13, in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer
import uvicorn

from tizim.interfaces.cli.app import app, console, open_runtime
from tizim.runtime import Runtime


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    http_port: Annotated[int, typer.Option()] = 8000,
    s13_port: Annotated[int, typer.Option()] = 3868,
) -> None:
    """Serve HTTP and Diameter S13 until Ctrl-C."""
    serve_forever(open_runtime(), host=host, http_port=http_port, s13_port=s13_port)


def serve_forever(runtime: Runtime, *, host: str, http_port: int, s13_port: int) -> None:
    from tizim.interfaces.http.app import create_app

    config = uvicorn.Config(
        create_app(runtime), host=host, port=http_port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    console.print(
        f"HTTP on http://{host}:{http_port}/ (API docs /docs, OpenAPI /openapi.json). Ctrl-C stops."
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve())
