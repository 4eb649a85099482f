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
import multiprocessing
import os
import random
import statistics
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

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
    """Keeps `window` requests in flight; records each answer's latency by hop-by-hop id."""

    def __init__(self, run: Run, first_id: int) -> None:
        self.run = run
        self.next_id = first_id
        self.sent: dict[int, float] = {}
        self.pending = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.send(self.run.window)

    def send(self, count: int) -> None:
        run = self.run
        count = min(count, run.total - run.issued)
        if count <= 0 or self.transport is None:
            return
        run.issued += count
        now = time.perf_counter()
        templates, size = run.templates, len(run.templates)
        batch = []
        for _ in range(count):
            hbh = self.next_id
            self.next_id += 1
            ids = _U32.pack(hbh)
            template = templates[hbh % size]
            batch.append(template[:12] + ids + ids + template[20:])
            self.sent[hbh] = now
        self.transport.write(b"".join(batch))

    def data_received(self, data: bytes) -> None:
        buf = self.pending + data if self.pending else data
        now = time.perf_counter()
        pos, size, answered = 0, len(buf), 0
        latencies, sent = self.run.latencies, self.sent
        while size - pos >= 20:
            length = int.from_bytes(buf[pos + 1 : pos + 4], "big")
            if size - pos < length:
                break
            hbh = _U32.unpack_from(buf, pos + 12)[0]
            latencies.append(now - sent.pop(hbh))
            pos += length
            answered += 1
        self.pending = buf[pos:]
        self.run.answered += answered
        if self.run.answered >= self.run.total:
            self.run.finished.set()
        elif answered:
            self.send(answered)


@dataclass
class Run:
    templates: list[bytes]
    window: int
    total: int
    finished: asyncio.Event
    issued: int = 0
    answered: int = 0
    latencies: list[float] | None = None

    def __post_init__(self) -> None:
        self.latencies = []


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


async def drive(port: int, connections: int, window: int, total: int, seconds: float) -> Run:
    loop = asyncio.get_running_loop()
    run = Run(micr_templates(1000), window, total, asyncio.Event())
    transports = []
    for n in range(connections):
        transport, _ = await loop.create_connection(
            lambda n=n: LoadClient(run, n << 24), "127.0.0.1", port
        )
        transports.append(transport)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run.finished.wait(), timeout=seconds)
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
        started = time.perf_counter()
        run = asyncio.run(drive(port, opts.connections, opts.window, opts.requests, opts.seconds))
        elapsed = time.perf_counter() - started
    finally:
        process.terminate()
        process.join(10)
    latencies = sorted(run.latencies or [0.0])
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return Result(name, run.answered, elapsed, statistics.median(latencies) * 1e3, p99 * 1e3)


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
