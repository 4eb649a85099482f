"""Real-time checks against a 10 M IMEI status index: S13, bare echo and N5g-eir; one table.

    python bench/bench_realtime.py [--imeis 10000000] [--requests 200000] [--http-requests 50000]
                                   [--postgres-imeis 10000000 --admin-url postgresql://...]

1. Builds the status index from synthetic arrays in each server process (80 % white, 15 %
   grey, 5 % black; 5 % of the IMEIs asked about are not in it and are judged by the domain
   rules) and reports its build time and resident memory (RSS before/after, in the server).
2. S13: `--connections` Diameter connections keeping `--window` MICRs in flight each
   (pipelined), against the real server with the real `RealtimeChecks` (index lookup + the
   recorder's queue append; the recorder's thread folds the queue every second as in
   production, and its fold of checks into sightings and resolution of S13 operators run in
   the server process, but it writes nothing to a database, so the numbers are the answer
   path), then the same load against a bare asyncio echo server.
3. N5g-eir: `--http-connections` keep-alive HTTP/1.1 connections, one request in flight each,
   against uvicorn + the real app (`create_app(realtime=...)`, an empty SQLite file for the
   rest of the app).
The load generators are asyncio processes on the same 2-core machine, shared with other
work: numbers are noisy. The S13 client encodes its requests before the clock starts and
costs less per message than either server, so the echo row measures the echo server, not
the client; "server busy" (server CPU time / run time) and "CPU us/answer" show it: a server
well below 100 % busy was not the limit (or the machine was busy elsewhere), and the CPU
per answer is the least noisy comparison of the two servers. Everything runs on 127.0.0.1
and stops by itself. Goals: S13 >= 20,000 checks/s with p99 <= 10 ms,
S13/echo >= 0.5, N5g-eir >= 5,000 requests/s, index <= 1 GB RSS for 10 M IMEIs.
With `--postgres-imeis N` it also creates a throw-away database (`tizim_bench_realtime`,
dropped afterwards), fills `imeis` with N rows and times loading the index from it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package

import s13_load
from echo_server import serve_in_process as serve_echo
from s13_load import Result, cpu_seconds, drive

BASE = 350_000_000_000_000  # synthetic IMEIs "35" + 13 digits, as s13_load asks: BASE + n


def synthetic_index(count: int) -> tuple[object, dict[str, float]]:
    """The real index over `count` synthetic IMEIs, with how long and how much memory it took."""
    from tizim.domain.rules import Rules
    from tizim.services.status_index import StatusIndex, deadline_day, pack

    rules = Rules()
    rss_before = _rss_mb()
    started = time.perf_counter()
    keys = np.arange(BASE, BASE + count, dtype=np.int64)
    grey_day = deadline_day(
        rules.local_midnight(rules.local_date(_far_future())), rules
    )  # grey until long after the run
    lists = np.array([0] * 16 + [2] * 3 + [1], dtype=np.int32)[np.arange(count) % 20]
    values = np.where(lists == 2, (grey_day << 2) | 2, lists).astype(np.int32)
    index = StatusIndex.from_arrays(keys, values, rules)
    del keys, lists, values
    assert pack("white", 0) == 0
    return index, {
        "build_s": time.perf_counter() - started,
        "rss_mb": _rss_mb() - rss_before,
        "table_mb": index.memory_bytes / 2**20,
    }


def _far_future():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2099, 1, 1, tzinfo=UTC)


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def serve_s13_index(count: int, port: int, ready: Connection) -> None:
    """An S13 server process on `port` (0: any) with SO_REUSEPORT, so several can share it."""
    from tizim.interfaces.diameter import start_s13_server
    from tizim.interfaces.diameter.server import freeze_startup_objects
    from tizim.services.check_recorder import CheckRecorder
    from tizim.services.realtime_checks import RealtimeChecks

    class FoldingRecorder(CheckRecorder):
        """The recorder's thread folds the queued checks every second, as in production,
        then forgets them: the database write is not part of the answer path, but letting
        the queue grow without end would charge the answers for fresh memory."""

        def flush(self) -> int:
            with self._flush_lock:
                self._drain()
                folded, self._pending = len(self._pending), {}
                return folded

    index, facts = synthetic_index(count)
    recorder = FoldingRecorder(None, index.rules)  # type: ignore[arg-type,attr-defined]
    checks = RealtimeChecks(index, recorder.start())  # type: ignore[arg-type]

    async def main() -> None:
        server = await start_s13_server(checks, "127.0.0.1", port, reuse_port=True)
        freeze_startup_objects()  # as `tizim serve` and its S13 workers do
        ready.send((server.sockets[0].getsockname()[1], facts))
        await server.serve_forever()

    asyncio.run(main())


def serve_http_index(count: int, ready: Connection) -> None:
    import uvicorn

    from tizim.config import Settings
    from tizim.interfaces.http.app import create_app
    from tizim.runtime import Runtime
    from tizim.services.check_recorder import CheckRecorder
    from tizim.services.realtime_checks import RealtimeChecks
    from tizim.storage.migrate import upgrade_schema

    index, facts = synthetic_index(count)
    database = Path(tempfile.mkdtemp(prefix="tizim-bench-")) / "bench.db"
    runtime = Runtime(Settings(database_url=f"sqlite:///{database}"))
    upgrade_schema(runtime.engine)
    checks = RealtimeChecks(index, CheckRecorder(runtime.engine, runtime.rules))  # type: ignore[arg-type]
    app = create_app(runtime, realtime=checks)
    port = s13_load_free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        ready.send((port, facts))
        await task

    asyncio.run(main())


def s13_load_free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def measure_postgres_load(admin_url: str, count: int) -> dict[str, float]:
    """Time `load_index` (binary COPY) over `count` IMEIs in a throw-away PostgreSQL database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tizim.config import Settings
    from tizim.runtime import Runtime
    from tizim.services.index_follower import load_index
    from tizim.storage.db import normalise_url
    from tizim.storage.migrate import upgrade_schema

    admin_url = normalise_url(admin_url)
    name = "tizim_bench_realtime"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    runtime = Runtime(Settings(database_url=url))
    try:
        upgrade_schema(runtime.engine)
        with runtime.transaction() as conn:
            conn.execute(
                text(
                    "INSERT INTO imeis (imei, list, reasons, list_since, grace_deadline)"
                    " SELECT (350000000000000 + g)::text,"
                    " CASE WHEN g % 20 < 16 THEN 'white' WHEN g % 20 < 19 THEN 'grey'"
                    " ELSE 'black' END, 'BENCH', now(),"
                    " CASE WHEN g % 20 BETWEEN 16 AND 18 THEN now() + interval '20 days' END"
                    " FROM generate_series(0, :n - 1) AS g"
                ),
                {"n": count},
            )
        rss_before = _rss_mb()
        started = time.perf_counter()
        index, _ = load_index(runtime.engine, runtime.rules)
        seconds = time.perf_counter() - started
        assert len(index) == count
        return {"load_s": seconds, "rss_mb": _rss_mb() - rss_before}
    finally:
        runtime.close()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def start_server(target: Callable[..., None], args: tuple[object, ...]) -> tuple[object, object]:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(*args, sender), daemon=True)
    process.start()
    if not receiver.poll(600):
        process.terminate()
        raise RuntimeError(f"{target.__name__} did not start")
    return process, receiver.recv()


def measure_s13(name: str, port: int, opts: argparse.Namespace, pids: list[int]) -> Result:
    asyncio.run(
        drive(port, opts.connections, opts.window, opts.warmup, opts.seconds, opts.distinct)
    )
    cpu = cpu_seconds(pids)
    run = asyncio.run(
        drive(port, opts.connections, opts.window, opts.requests, opts.seconds, opts.distinct)
    )
    cpu = cpu_seconds(pids) - cpu  # includes the client's connection setup: a few ms
    return _result(name, run.answered, run.seconds, run.latency_list(), cpu)


def _result(
    name: str, answered: int, elapsed: float, latencies: list[float], cpu: float = 0.0
) -> Result:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Result(name, answered, elapsed, statistics.median(ordered) * 1e3, p99 * 1e3, cpu)


# ---- HTTP load: raw keep-alive HTTP/1.1 (an HTTP client library would be the bottleneck) ----


class HttpLoad:
    def __init__(self, requests: list[bytes], total: int) -> None:
        self.requests = requests
        self.total = total
        self.issued = self.answered = 0
        self.statuses: dict[int, int] = {}
        self.latencies: list[float] = []
        self.finished = asyncio.Event()


class HttpClient(asyncio.Protocol):
    def __init__(self, load: HttpLoad) -> None:
        self.load = load
        self.buffer = b""
        self.sent_at = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.send()

    def send(self) -> None:
        load = self.load
        if load.issued >= load.total or self.transport is None:
            return
        request = load.requests[load.issued % len(load.requests)]
        load.issued += 1
        self.sent_at = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buffer[: head_end + 2].lower()  # keeps the last header's CRLF
        marker = head.find(b"content-length:")
        length = int(head[marker + 15 : head.find(b"\r\n", marker)]) if marker >= 0 else 0
        if len(self.buffer) < head_end + 4 + length:
            return
        load = self.load
        load.latencies.append(time.perf_counter() - self.sent_at)
        status = int(self.buffer[9:12])
        load.statuses[status] = load.statuses.get(status, 0) + 1
        self.buffer = self.buffer[head_end + 4 + length :]
        load.answered += 1
        if load.answered >= load.total:
            load.finished.set()
        else:
            self.send()


async def drive_http(port: int, connections: int, total: int, seconds: float) -> HttpLoad:
    rng = random.Random(11)
    requests = [
        (
            f"GET /n5g-eir-eic/v1/equipment-status?pei=imei-{BASE + rng.randrange(10_500_000)}"
            f" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        ).encode()
        for _ in range(2000)
    ]
    load = HttpLoad(requests, total)
    loop = asyncio.get_running_loop()
    transports = []
    for _ in range(connections):
        transport, _ = await loop.create_connection(lambda: HttpClient(load), "127.0.0.1", port)
        transports.append(transport)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(load.finished.wait(), timeout=seconds)
    for transport in transports:
        transport.close()
    return load


def measure_http(port: int, opts: argparse.Namespace) -> tuple[Result, dict[int, int]]:
    asyncio.run(drive_http(port, opts.http_connections, opts.http_requests // 10, opts.seconds))
    started = time.perf_counter()
    load = asyncio.run(drive_http(port, opts.http_connections, opts.http_requests, opts.seconds))
    elapsed = time.perf_counter() - started
    return _result("N5g-eir", load.answered, elapsed, load.latencies or [0.0]), load.statuses


def main() -> None:
    parser = argparse.ArgumentParser(description="Real-time check benchmark (S13, N5g-eir)")
    parser.add_argument("--imeis", type=int, default=10_000_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="S13 and echo runs, alternated; medians shown"
    )
    parser.add_argument(
        "--distinct",
        type=int,
        default=1000,
        help="different MICRs the load cycles through (IMEIs and User-Names)",
    )
    parser.add_argument("--warmup", type=int, default=20_000)
    parser.add_argument("--http-connections", type=int, default=32)
    parser.add_argument("--http-requests", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="time bound per run")
    parser.add_argument(
        "--postgres-imeis",
        type=int,
        default=0,
        help="also time loading this many IMEIs from a throw-away PostgreSQL database",
    )
    parser.add_argument(
        "--s13-workers", type=int, default=1, help="S13 processes sharing the port (reuse_port)"
    )
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    opts = parser.parse_args()
    s13_load.SYNTHETIC_IMEIS = opts.imeis  # MICRs ask about the index's IMEIs (+5 % unknown)

    rows: list[Result] = []
    ratios: list[float] = []
    s13_process, started = start_server(serve_s13_index, (opts.imeis, 0))
    echo_process, echo_port = start_server(serve_echo, ())
    extra = []
    try:
        port, facts = started  # type: ignore[misc]
        for _ in range(opts.s13_workers - 1):  # more processes on the same port
            extra.append(start_server(serve_s13_index, (opts.imeis, port))[0])
        label = "S13" if opts.s13_workers == 1 else f"S13 x{opts.s13_workers}"
        s13_pids = [p.pid for p in (s13_process, *extra)]  # type: ignore[attr-defined]
        echo_pids = [echo_process.pid]  # type: ignore[attr-defined]
        rounds = []
        for _ in range(opts.rounds):  # alternated, so both see the same machine
            s13 = measure_s13(label, port, opts, s13_pids)
            echo = measure_s13("echo", int(echo_port), opts, echo_pids)  # type: ignore[call-overload]
            rounds.append((s13, echo))
            ratios.append(s13.throughput / echo.throughput if echo.throughput else 0.0)
        rows.append(_median_run([r[0] for r in rounds]))
        rows.append(_median_run([r[1] for r in rounds]))
    finally:
        for running in (s13_process, echo_process, *extra):
            running.terminate()  # type: ignore[attr-defined]
            running.join(10)  # type: ignore[attr-defined]
    http_process, started = start_server(serve_http_index, (opts.imeis,))
    try:
        port, _ = started  # type: ignore[misc]
        result, statuses = measure_http(port, opts)
        rows.append(result)
    finally:
        http_process.terminate()  # type: ignore[attr-defined]
        http_process.join(10)  # type: ignore[attr-defined]
    facts["ratios"] = ratios  # type: ignore[assignment]
    print_table(rows, facts, statuses, opts)
    if opts.postgres_imeis:
        loaded = measure_postgres_load(opts.admin_url, opts.postgres_imeis)
        print(
            f"load_index from PostgreSQL: {opts.postgres_imeis:,} IMEIs in"
            f" {loaded['load_s']:.1f} s (binary COPY), RSS +{loaded['rss_mb']:.0f} MiB"
        )


def _median_run(runs: list[Result]) -> Result:
    """The run of median throughput (its latencies and CPU as measured in that run)."""
    return sorted(runs, key=lambda run: run.throughput)[len(runs) // 2]


def print_table(
    rows: list[Result], facts: dict[str, float], statuses: dict[int, int], opts: argparse.Namespace
) -> None:
    print(
        f"status index: {opts.imeis:,} IMEIs, built in {facts['build_s']:.1f} s,"
        f" table {facts['table_mb']:.0f} MiB, RSS +{facts['rss_mb']:.0f} MiB"
    )
    print(
        f"{'interface':<10}{'answers':>10}{'seconds':>9}{'per s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'server busy':>13}{'CPU us/answer':>15}"
    )
    for r in rows:
        cpu = f"{r.server_busy:>13.0%}{r.cpu_us:>15.2f}" if r.server_cpu else ""
        print(
            f"{r.name:<10}{r.answered:>10}{r.seconds:>9.2f}{r.throughput:>10.0f}"
            f"{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}{cpu}"
        )
    s13, echo = rows[0], rows[1]
    ratios = sorted(facts["ratios"])  # type: ignore[arg-type]
    cost = echo.cpu_us / s13.cpu_us if s13.cpu_us else 0.0
    print(
        f"S13/echo throughput ratio: {statistics.median(ratios):.2f} (median of"
        f" {len(ratios)} alternated rounds: {', '.join(f'{r:.2f}' for r in ratios)};"
        f" server CPU per answer, echo/S13: {cost:.2f}); N5g-eir HTTP statuses: {statuses}"
    )
    print("goals: S13 >= 20000/s, p99 <= 10 ms, S13/echo >= 0.5, N5g-eir >= 5000/s, RSS <= 1 GiB")


if __name__ == "__main__":
    main()
