"""The real-time checks (status index + check recorder) an HTTP app answers from.

`tizim serve` builds one `RealtimeChecks` and hands it to `create_app(realtime=...)`, so S13
and HTTP share it. An app created without one (tests, other tools) builds its own on the
first N5g-eir or batch check and stops it when the app shuts down (flushing the recorder).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from tizim.runtime import Runtime
from tizim.services.realtime_checks import RealtimeChecks

_starting = threading.Lock()


async def get_realtime(request: Request) -> RealtimeChecks:
    """Async, so a check never waits for a thread-pool hop (the index answers in microseconds)."""
    realtime: RealtimeChecks | None = getattr(request.app.state, "realtime", None)
    if realtime is not None:
        return realtime
    return await asyncio.to_thread(_start_own, request.app)


def _start_own(app: FastAPI) -> RealtimeChecks:
    with _starting:
        realtime = getattr(app.state, "realtime", None)
        if realtime is None:
            runtime: Runtime = app.state.runtime
            realtime = RealtimeChecks.start(runtime.engine, runtime.rules, app.state.clock)
            app.state.realtime = realtime
            app.state.owns_realtime = True
    return realtime


def stop_owned_realtime(app: FastAPI) -> None:
    """At shutdown: stop the checks this app started itself (its owner stops the others)."""
    realtime: RealtimeChecks | None = getattr(app.state, "realtime", None)
    if realtime is not None and getattr(app.state, "owns_realtime", False):
        realtime.stop()
        app.state.realtime = None


Realtime = Annotated[RealtimeChecks, Depends(get_realtime)]
