"""Extra S13 server processes sharing one port (SO_REUSEPORT): one more core each.

The per-check cost of S13 is Python bytecode (the MICR scan, the index lookup), so one event
loop is bound to one core. `tizim serve --s13-workers N` starts N-1 of these processes next
to the main one; the kernel spreads incoming peer connections over all N listening sockets.
Each worker is self-contained: its own status index (loaded from `imeis`, following
`status_changes`: ~210 MB per 10 M IMEIs each) and its own check recorder. Workers ignore
SIGINT (a Ctrl-C reaches the whole process group) and stop on the SIGTERM the main process
sends once it has stopped itself; they then write their recorded checks, like the main one.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
from collections.abc import Mapping
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tizim.services.realtime_checks import RealtimeChecks

STOP_SECONDS = 60


def start_s13_workers(
    count: int,
    *,
    host: str,
    port: int,
    realms: Mapping[str, str],
    origin_host: str,
    origin_realm: str,
) -> list[BaseProcess]:
    """Start `count` worker processes and wait until each one listens (or has failed)."""
    context = multiprocessing.get_context("spawn")
    started = []
    for _ in range(count):
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_worker_main,
            args=(host, port, dict(realms), origin_host, origin_realm, sender),
            name="tizim-s13-worker",
        )
        process.start()
        started.append((process, receiver))
    for process, receiver in started:
        with contextlib.suppress(EOFError):
            receiver.recv()  # "listening", or EOF if the worker died first
        if not process.is_alive():
            stop_s13_workers([p for p, _ in started])
            raise RuntimeError(f"an S13 worker could not start (exit code {process.exitcode})")
    return [process for process, _ in started]


def stop_s13_workers(processes: list[BaseProcess]) -> None:
    """SIGTERM every worker and wait for it to write its recorded checks."""
    for process in processes:
        if process.is_alive() and process.pid is not None:
            process.terminate()
    for process in processes:
        process.join(STOP_SECONDS)


def _worker_main(
    host: str,
    port: int,
    realms: dict[str, str],
    origin_host: str,
    origin_realm: str,
    ready: Connection,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _interrupt)
    from tizim.config import Settings
    from tizim.interfaces.diameter.server import freeze_startup_objects
    from tizim.runtime import Runtime
    from tizim.services.realtime_checks import RealtimeChecks

    runtime = Runtime(Settings())
    realtime = RealtimeChecks.start(runtime.engine, runtime.rules, realms=realms)
    freeze_startup_objects()
    try:
        asyncio.run(_serve(realtime, host, port, origin_host, origin_realm, ready))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # nothing may interrupt the last flush
        realtime.stop()
        runtime.close()


async def _serve(
    realtime: RealtimeChecks,
    host: str,
    port: int,
    origin_host: str,
    origin_realm: str,
    ready: Connection,
) -> None:
    from tizim.interfaces.diameter.server import start_s13_server

    server = await start_s13_server(
        realtime, host, port, origin_host, origin_realm, reuse_port=True
    )
    ready.send("listening")
    ready.close()
    await server.serve_forever()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt
