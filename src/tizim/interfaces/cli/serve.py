"""`tizim serve`: the HTTP server (API, pages, N5g-eir) and Diameter S13, in one event loop.

Both share one `RealtimeChecks`: the status index (loaded at start, following list changes)
and the check recorder (sightings written behind). Ctrl-C or SIGTERM stops accepting
requests, then stops the index follower and writes every recorded sighting before exiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Mapping
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn

from tizim.clock import Clock
from tizim.interfaces.cli.app import EXIT_USAGE, app, console, fail, open_runtime
from tizim.runtime import Runtime

if TYPE_CHECKING:
    from tizim.services.realtime_checks import RealtimeChecks

DEFAULT_ORIGIN_HOST = "tizim.eir.kz"
DEFAULT_ORIGIN_REALM = "eir.kz"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    http_port: Annotated[int, typer.Option(help="HTTP port (API, N5g-eir)")] = 8000,
    s13_port: Annotated[int, typer.Option(help="Diameter S13 port")] = 3868,
    s13_realm: Annotated[
        list[str] | None,
        typer.Option(help="REALM=OPERATOR_CODE: whose checks come from a Diameter realm"),
    ] = None,
    origin_host: Annotated[str, typer.Option(help="Our Diameter Origin-Host")] = (
        DEFAULT_ORIGIN_HOST
    ),
    origin_realm: Annotated[str, typer.Option(help="Our Diameter Origin-Realm")] = (
        DEFAULT_ORIGIN_REALM
    ),
    s13_workers: Annotated[
        int, typer.Option(min=1, help="S13 processes sharing the port (one core each)")
    ] = 1,
) -> None:
    """Serve HTTP and Diameter S13 until Ctrl-C or SIGTERM."""
    realms = parse_realms(s13_realm or [])
    serve_forever(
        open_runtime(),
        host=host,
        http_port=http_port,
        s13_port=s13_port,
        realms=realms,
        origin_host=origin_host,
        origin_realm=origin_realm,
        s13_workers=s13_workers,
    )


def parse_realms(values: list[str]) -> dict[str, str]:
    realms = {}
    for value in values:
        realm, _, code = value.partition("=")
        if not realm.strip() or not code.strip():
            fail(f"--s13-realm {value!r}: expected REALM=OPERATOR_CODE", EXIT_USAGE)
        realms[realm.strip()] = code.strip()
    return realms


def serve_forever(
    runtime: Runtime,
    *,
    host: str,
    http_port: int,
    s13_port: int,
    realms: Mapping[str, str] | None = None,
    origin_host: str = DEFAULT_ORIGIN_HOST,
    origin_realm: str = DEFAULT_ORIGIN_REALM,
    clock: Clock | None = None,
    s13_workers: int = 1,
) -> None:
    """Serve until interrupted; always flushes the recorded checks before returning.

    With `s13_workers` > 1, that many minus one extra S13 processes share the port
    (`tizim.interfaces.diameter.workers`); they are stopped, and flushed, first.
    """
    from tizim.interfaces.diameter.workers import start_s13_workers, stop_s13_workers
    from tizim.services.realtime_checks import RealtimeChecks

    started = time.perf_counter()
    realtime = RealtimeChecks.start(runtime.engine, runtime.rules, clock, realms=realms)
    console.print(
        f"Status index: {len(realtime.index):,} IMEIs loaded in"
        f" {time.perf_counter() - started:.1f} s."
    )
    # uvicorn re-raises the signal that stopped it; SIGTERM's default would kill the process
    # before the recorder is flushed, so SIGTERM becomes a KeyboardInterrupt like Ctrl-C.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    workers: list[BaseProcess] = []
    try:
        if s13_workers > 1:
            workers = start_s13_workers(
                s13_workers - 1,
                host=host,
                port=s13_port,
                realms=realms or {},
                origin_host=origin_host,
                origin_realm=origin_realm,
            )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                _serve_both(
                    runtime,
                    realtime,
                    (host, http_port, s13_port),
                    (origin_host, origin_realm),
                    reuse_port=s13_workers > 1,
                )
            )
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # nothing may interrupt the last flush
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop_s13_workers(workers)
        console.print("Stopping: writing the recorded checks ...")
        try:
            realtime.stop()
        except Exception as error:  # the database is away: say what is lost, no traceback
            queued = realtime.recorder.queued if realtime.recorder else 0
            fail(f"{queued:,} recorded checks could not be written: {error}")
        written = realtime.recorder.written if realtime.recorder else 0
        console.print(f"Stopped. {written:,} sightings written by this process.")
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


async def _serve_both(
    runtime: Runtime,
    realtime: RealtimeChecks,
    where: tuple[str, int, int],
    identity: tuple[str, str],
    *,
    reuse_port: bool,
) -> None:
    host, http_port, s13_port = where
    from tizim.interfaces.diameter import start_s13_server
    from tizim.interfaces.diameter.server import freeze_startup_objects
    from tizim.interfaces.http.app import create_app

    app = create_app(runtime, realtime=realtime)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=http_port, log_level="warning", access_log=False)
    )
    # Ctrl-C and SIGTERM end both servers gracefully from inside the loop; uvicorn's own signal
    # capture would re-raise the signal afterwards and cancel the app's lifespan mid-shutdown,
    # printing a traceback to the person who pressed Ctrl-C.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, setattr, server, "should_exit", True)
    s13 = await start_s13_server(realtime, host, s13_port, *identity, reuse_port=reuse_port)
    freeze_startup_objects()  # the index, the app and their imports are here for good
    http = asyncio.create_task(server.serve())
    while not server.started and not http.done():
        await asyncio.sleep(0.05)
    if server.started:
        console.print(
            f"Serving: HTTP on http://{host}:{http_port}/ (API docs /docs, N5g-eir"
            f" /n5g-eir-eic/v1/equipment-status), Diameter S13 on {host}:{s13_port}."
            " Ctrl-C stops."
        )
    try:
        await http
    finally:
        s13.close()
        await s13.wait_closed()
