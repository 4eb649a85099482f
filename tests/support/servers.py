"""Real servers for tests: uvicorn on a free loopback port, in a background thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from tizim.clock import FixedClock
from tizim.interfaces.http.app import create_app
from tizim.runtime import Runtime
from tizim.services.orgs import Role, create_organisation


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_http_server(app: FastAPI) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 until the block ends; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    started = threading.Event()
    original_startup = server.startup

    async def startup_then_signal(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets)
        started.set()

    server.startup = startup_then_signal  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not started.wait(timeout=30):
        raise RuntimeError("the HTTP server did not start within 30 s")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass
class ApiServer:
    """A running HTTP app and one API key per organisation code."""

    base: str
    keys: dict[str, str]

    def call(self, method: str, path: str, who: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=60, **kwargs)


@contextmanager
def api_server(
    registry: Runtime, now: datetime, organisations: Iterable[tuple[str, Role]]
) -> Iterator[ApiServer]:
    """The real app on a real port, with these organisations created, each with a key."""
    keys: dict[str, str] = {}
    with registry.transaction() as conn:
        for code, role in organisations:
            keys[code] = create_organisation(conn, code=code, role=role, now=now)[1]
    with running_http_server(create_app(registry, FixedClock(now))) as base:
        yield ApiServer(base, keys)
