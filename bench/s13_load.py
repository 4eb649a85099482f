"""Load test of the S13 server against the bare echo baseline; prints one table.

    python bench/s13_load.py [--connections 8] [--window 32] [--requests 200000] [--seconds 60]

Each server runs in its own process (multiprocessing, spawn) so it does not share a core
with this load generator. Clients are asyncio Protocols keeping `window` MICRs in flight per
connection and refilling as answers arrive; the run stops after `--requests` answers or
`--seconds`, whichever comes first. Only 127.0.0.1 is used. Goals: >= 20,000 checks/s,
p99 <= 10 ms, and S13/echo throughput >= 0.5.

The status source is pluggable (`run_benchmark(source_factory=...)`): a picklable
zero-argument callable run in the server process. The default is a dict of synthetic IMEIs
until the real in-memory index exists.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import multiprocessing
import os
import random
import statistics
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package

from echo_server import serve_in_process as serve_echo
from tizim.interfaces.diameter import EquipmentStatusSource, start_s13_server
from tizim.interfaces.diameter import avps as A
from tizim.interfaces.diameter.codec import (
    encode_grouped_avp,
    encode_message,
    encode_str_avp,
    encode_u32_avp,
)

SYNTHETIC_IMEIS = 100_000
_U32 = struct.Struct(">I")


def synthetic_imei(n: int) -> str:
    return f"35{n:013d}"


class DictSource:
    """Synthetic equipment index: 80 % white, 15 % grey, 5 % black; others unknown."""

    def __init__(self, size: int = SYNTHETIC_IMEIS) -> None:
        lists = ("white",) * 16 + ("grey",) * 3 + ("black",)
        self.status = {synthetic_imei(n): lists[n % 20] for n in range(size)}

    def equipment_status(
        self, imei: str, software_version: str | None, imsi: str | None, realm: str | None
    ) -> str:
        return self.status.get(imei[:15], "unknown")


def serve_s13(source_factory: Callable[[], EquipmentStatusSource], ready: Connection) -> None:
    """Child-process entry point: build the source, listen, report the port, serve."""

    async def main() -> None:
        server = await start_s13_server(source_factory(), "127.0.0.1", 0)
        ready.send(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


@functools.lru_cache(maxsize=2)
def micr_templates(count: int) -> list[bytes]:
    """Encoded MICRs for random synthetic IMEIs (5 % not in the index); ids patched later."""
    rng = random.Random(7)
    out = []
    for n in range(count):
        imei = synthetic_imei(rng.randrange(int(SYNTHETIC_IMEIS * 1.05)))
        avps = (
            encode_str_avp(A.AVP_SESSION_ID, f"mme1.operator.kz;bench;{n}")
            + encode_u32_avp(A.AVP_AUTH_SESSION_STATE, 1)
            + encode_str_avp(A.AVP_ORIGIN_HOST, "mme1.operator.kz")
            + encode_str_avp(A.AVP_ORIGIN_REALM, "operator.kz")
            + encode_str_avp(A.AVP_DESTINATION_REALM, "eir.kz")
            + encode_grouped_avp(
                A.AVP_TERMINAL_INFORMATION,
                (
                    encode_str_avp(A.AVP_IMEI, imei, vendor_id=A.VENDOR_3GPP),
                    encode_str_avp(A.AVP_SOFTWARE_VERSION, "01", vendor_id=A.VENDOR_3GPP),
                ),
                vendor_id=A.VENDOR_3GPP,
            )
            + encode_str_avp(A.AVP_USER_NAME, f"40177{n:010d}")
        )
        out.append(
            encode_message(
                flags=A.FLAG_REQUEST | A.FLAG_PROXIABLE,
                command_code=A.CMD_ME_IDENTITY_CHECK,
                application_id=A.APP_S13,
                hop_by_hop=0,
                end_to_end=0,
                avps=avps,
            )
        )
    return out


class LoadClient(asyncio.Protocol):
    """Keeps `window` requests in flight on one connection; refills as answers arrive.

    The client must cost less per message than the servers it measures, or the echo
    baseline only measures the client. So the requests are encoded before the clock starts
    (one stream per connection, hop-by-hop ids numbered in order) and a refill is one slice
    of it; answers come back in order (RFC 6733 does not promise it, our servers do), so
    latencies are taken per received chunk against an array of send times, and the
    hop-by-hop id of the last answer of each chunk checks that order.
    """

    def __init__(self, run: Run, first_id: int, count: int) -> None:
        self.run = run
        self.first_id = first_id
        templates, size = run.templates, len(run.templates)
        messages = []
        for n in range(count):
            ids = _U32.pack(first_id + n)
            template = templates[(first_id + n) % size]
            messages.append(template[:12] + ids + ids + template[20:])
        self.offsets = [0, *itertools.accumulate(len(m) for m in messages)]
        self.stream = b"".join(messages)
        self.sent_at = np.zeros(count)
        self.issued = self.answered = 0
        self.pending = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, count: int) -> None:
        run = self.run
        count = min(count, run.total - run.issued, len(self.offsets) - 1 - self.issued)
        if count <= 0 or self.transport is None:
            return
        run.issued += count
        first = self.issued
        self.issued += count
        self.sent_at[first : first + count] = time.perf_counter()
        self.transport.write(self.stream[self.offsets[first] : self.offsets[first + count]])

    def data_received(self, data: bytes) -> None:
        buf = self.pending + data if self.pending else data
        now = time.perf_counter()
        pos, size, answered = 0, len(buf), 0
        last = -1
        while size - pos >= 20:
            length = int.from_bytes(buf[pos + 1 : pos + 4], "big")
            if size - pos < length:
                break
            last = pos
            pos += length
            answered += 1
        self.pending = buf[pos:]
        if not answered:
            return
        first = self.answered
        self.answered += answered
        if _U32.unpack_from(buf, last + 12)[0] != self.first_id + self.answered - 1:
            raise RuntimeError("answers out of order or lost")
        run = self.run
        run.latencies.append(now - self.sent_at[first : self.answered])
        run.answered += answered
        if run.answered >= run.total:
            run.finished.set()
        else:
            self.send(answered)


@dataclass
class Run:
    templates: list[bytes]
    window: int
    total: int
    finished: asyncio.Event
    issued: int = 0
    answered: int = 0
    seconds: float = 0.0  # from the first request sent to the last answer received
    latencies: list[np.ndarray] = field(default_factory=list)  # seconds, one array per chunk

    def latency_list(self) -> list[float]:
        return np.concatenate(self.latencies).tolist() if self.latencies else [0.0]


@dataclass(frozen=True)
class Result:
    name: str
    answered: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_cpu: float = 0.0  # CPU seconds the server process(es) used during the run

    @property
    def throughput(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def cpu_us(self) -> float:
        """Server CPU microseconds per answer: what the run cost the server, whoever was slower."""
        return self.server_cpu / self.answered * 1e6 if self.answered else 0.0

    @property
    def server_busy(self) -> float:
        """Share of the run the server was on a CPU; well below 1: the client was the limit."""
        return self.server_cpu / self.seconds if self.seconds else 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / os.sysconf("SC_CLK_TCK")


async def drive(
    port: int, connections: int, window: int, total: int, seconds: float, distinct: int = 1000
) -> Run:
    """Load the server on `port` with `distinct` different MICRs, cycled; `Run.seconds` is
    timed from the first request sent."""
    loop = asyncio.get_running_loop()
    run = Run(micr_templates(distinct), window, total, asyncio.Event())
    per_connection = -(-total // connections) + window
    clients = [LoadClient(run, n << 24, per_connection) for n in range(connections)]
    transports = []
    for client in clients:
        transport, _ = await loop.create_connection(lambda c=client: c, "127.0.0.1", port)
        transports.append(transport)
    started = time.perf_counter()
    for client in clients:
        client.send(window)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run.finished.wait(), timeout=seconds)
    run.seconds = time.perf_counter() - started
    for transport in transports:
        transport.close()
    return run


def measure(
    name: str, target: Callable[..., None], args: tuple[object, ...], opts: argparse.Namespace
) -> Result:
    """Start `target` in a child process, load it, stop it; latency percentiles in ms."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(*args, sender), daemon=True)
    process.start()
    try:
        if not receiver.poll(60):
            raise RuntimeError(f"{name} server did not start")
        port = receiver.recv()
        asyncio.run(drive(port, opts.connections, opts.window, opts.warmup, opts.seconds))
        run = asyncio.run(drive(port, opts.connections, opts.window, opts.requests, opts.seconds))
    finally:
        process.terminate()
        process.join(10)
    latencies = sorted(run.latency_list())
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return Result(name, run.answered, run.seconds, statistics.median(latencies) * 1e3, p99 * 1e3)


def run_benchmark(
    opts: argparse.Namespace,
    source_factory: Callable[[], EquipmentStatusSource] = DictSource,
) -> list[Result]:
    return [
        measure("S13", serve_s13, (source_factory,), opts),
        measure("echo", serve_echo, (), opts),
    ]


def print_table(results: list[Result]) -> None:
    print(f"{'server':<8}{'answers':>10}{'seconds':>9}{'checks/s':>11}{'p50 ms':>9}{'p99 ms':>9}")
    for r in results:
        print(
            f"{r.name:<8}{r.answered:>10}{r.seconds:>9.2f}{r.throughput:>11.0f}"
            f"{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
        )
    s13, echo = results
    ratio = s13.throughput / echo.throughput if echo.throughput else 0.0
    print(f"S13/echo throughput ratio: {ratio:.2f}  (goals: >= 20000/s, p99 <= 10 ms, >= 0.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description="S13 Diameter load test")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--window", type=int, default=32, help="requests in flight per connection")
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--warmup", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="time bound per run")
    print_table(run_benchmark(parser.parse_args()))


if __name__ == "__main__":
    main()
