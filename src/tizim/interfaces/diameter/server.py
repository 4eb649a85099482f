"""The S13 Diameter server on asyncio: one `asyncio.Protocol` per peer connection.

A plain `Protocol` (not streams) because `data_received` lets us answer every complete
message in one synchronous pass and send all answers with a single `write`: no task, no
future, no await per request. The status source is synchronous for the same reason; it is
an in-memory index and must answer in microseconds. A peer that does not read its answers
gets its reading paused (flow control), so it can only ever slow itself down.

Run it next to uvicorn in the same loop with `await start_s13_server(...)`, or in a thread
of its own with `S13ServerThread` (tests, scripts).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from typing import Protocol

from tizim.interfaces.diameter.burst import Segment, warm_up
from tizim.interfaces.diameter.handler import (
    DEFAULT_MAX_LENGTH,
    Connection,
    Handler,
    resolve_all,
)
from tizim.interfaces.diameter.messages import Answers

log = logging.getLogger(__name__)

DEFAULT_PORT = 3868


class EquipmentStatusSource(Protocol):
    """Where the server looks up an IMEI. Synchronous and fast (an in-memory index).

    `imei` is the raw IMEI AVP string: 14, 15 or 16 digits, or garbage, which the source
    judges (garbage is "black"); `imsi` is User-Name and `origin_realm` the requesting
    MME's Origin-Realm (which operator asks). Returns "white", "grey", "black" or "unknown".
    The real one is `tizim.services.realtime_checks.RealtimeChecks`. A source may also
    have `equipment_codes(imeis, imei_texts, imsis, origin_realm)`, the same lookup for a
    burst of pipelined requests at once (`burst.Codes`); the server then answers bursts with
    it.
    """

    def equipment_status(
        self,
        imei: str,
        software_version: str | None,
        imsi: str | None,
        origin_realm: str | None,
    ) -> str: ...


class Batch:
    """The reads of one pass of the event loop, answered together.

    Each connection's `data_received` only frames its bytes and answers what cannot wait
    for others; runs of plain MICRs are left as segments. Once every ready connection has
    been read (the loop runs callbacks scheduled during a pass in the next one, right after
    its poll), `answer` looks up all segments of one layout in one burst, whichever
    connection they came from, and writes each connection its answers in order.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.call_soon = loop.call_soon
        self.reads: list[tuple[S13Protocol, list[bytes | Segment], bool]] = []
        self.scheduled = False

    def add(self, protocol: S13Protocol, out: list[bytes | Segment], close: bool) -> None:
        self.reads.append((protocol, out, close))
        if not self.scheduled:
            self.scheduled = True
            self.call_soon(self.answer)

    def answer(self) -> None:
        reads, self.reads, self.scheduled = self.reads, [], False
        try:
            answered = resolve_all([out for _, out, _ in reads])
        except Exception:  # a bug must cost these peers their connection, not the server
            log.exception("closing Diameter connections after an internal error")
            for protocol, _, _ in reads:
                if protocol.transport is not None:
                    protocol.transport.abort()
            return
        for (protocol, _, close), answers in zip(reads, answered, strict=True):
            transport = protocol.transport
            if transport is None:
                continue  # the peer went away meanwhile
            if answers:
                transport.write(answers[0] if len(answers) == 1 else b"".join(answers))
            if close:
                transport.close()


class S13Protocol(asyncio.Protocol):
    """One peer connection: bytes go to a `Connection`, answers come back in order."""

    def __init__(self, handler: Handler, batch: Batch) -> None:
        self.handler = handler
        self.batch = batch
        self.transport: asyncio.Transport | None = None
        self.connection: Connection | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sockname = transport.get_extra_info("sockname")
        host_ip = sockname[0] if isinstance(sockname, tuple) else "127.0.0.1"
        self.connection = Connection(self.handler, host_ip)

    def data_received(self, data: bytes) -> None:
        transport, connection = self.transport, self.connection
        if transport is None or connection is None:
            return
        try:
            out, close = connection.receive_deferred(data)
        except Exception:  # a bug must cost only this peer, never the server
            log.exception("closing Diameter connection after an internal error")
            transport.abort()
            return
        if out or close:
            self.batch.add(self, out, close)

    def eof_received(self) -> bool:
        return False  # close our side too

    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.connection = None


async def start_s13_server(
    source: EquipmentStatusSource,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    origin_host: str = "tizim.eir.kz",
    origin_realm: str = "eir.kz",
    *,
    max_message_length: int = DEFAULT_MAX_LENGTH,
    reuse_port: bool = False,
) -> asyncio.Server:
    """Listen for S13 peers on the running loop; close the returned server to stop.

    `reuse_port=True` lets several worker processes share the port (SO_REUSEPORT), which is
    how to scale past one core: the per-check cost is Python bytecode, not I/O.
    """
    if getattr(source, "equipment_codes", None) is not None:
        warm_up()  # the burst kernels, compiled before the first peer's burst needs them
    handler = Handler(
        source.equipment_status,
        Answers(origin_host, origin_realm),
        max_message_length,
        codes=getattr(source, "equipment_codes", None),
    )
    loop = asyncio.get_running_loop()
    batch = Batch(loop)
    server = await loop.create_server(
        lambda: S13Protocol(handler, batch),
        host,
        port,
        backlog=1024,
        reuse_port=reuse_port or None,
    )
    log.info("S13 Diameter server listening on %s", [s.getsockname() for s in server.sockets])
    return server


def freeze_startup_objects() -> None:
    """Move every object alive now to the collector's permanent generation.

    Call once a serving process has started (modules imported, index loaded): the cyclic
    garbage collector would otherwise walk those long-lived objects again at every full
    collection, and the check recorder creates sightings fast enough (a tuple and a list per
    distinct check, hundreds of thousands a second) to trigger collections often. Measured
    on the recorder's fold with 100,000 distinct checks: 2.3 -> 1.1 µs per check.
    """
    gc.collect()
    gc.freeze()


class S13ServerThread:
    """The server on its own event loop in a daemon thread; `port` is the bound port.

    Use as a context manager: `with S13ServerThread(source, port=0) as s: connect(s.port)`.
    """

    def __init__(
        self,
        source: EquipmentStatusSource,
        host: str = "127.0.0.1",
        port: int = 0,
        origin_host: str = "tizim.eir.kz",
        origin_realm: str = "eir.kz",
    ) -> None:
        self._args = (source, host, port, origin_host, origin_realm)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.host = host
        self.port = port

    def start(self) -> S13ServerThread:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(start_s13_server(*self._args), self._loop)
        self._server = future.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        server = self._server
        if server is not None:

            async def close() -> None:
                server.close()
                await server.wait_closed()

            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> S13ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
