"""`tizim serve` as a real process: HTTP and S13 from one event loop, stopped by a signal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from tests.interfaces.diameter.test_s13_server import micr, read_answer
from tests.support.servers import free_port
from tizim.domain.imei import check_digit
from tizim.runtime import Runtime
from tizim.services.facts import Fact, FactKind, record_facts
from tizim.storage.schema import sightings

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 1, 10, tzinfo=ALMATY)
WHITE, NEW = "490154203237518", "356938035643809"
STARTUP_SECONDS = 60


@contextmanager
def serving(
    database_url: str, workdir: Path, *options: str
) -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    http_port, s13_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tizim",
            "serve",
            "--http-port",
            str(http_port),
            "--s13-port",
            str(s13_port),
            "--s13-realm",
            "operator.kz=KCELL",
            *options,
        ],
        env={**os.environ, "TIZIM_DATABASE_URL": database_url, "COLUMNS": "200"},
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # blocks until the server says it is serving (or dies)
            if line.startswith("Serving:"):
                break
        else:
            pytest.fail(f"tizim serve exited with {process.wait(STARTUP_SECONDS)}")
        yield process, http_port, s13_port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def test_serve_answers_http_and_s13_then_stops_cleanly_on_sigint(
    registry: Runtime, registry_url: str, workdir: Path
) -> None:
    with registry.transaction() as conn:
        record_facts(
            conn,
            [Fact(WHITE, FactKind.TRUSTED_REGISTRATION, "t", NOW)],
            now=NOW,
            rules=registry.rules,
            source="t",
        )
    with serving(registry_url, workdir) as (process, http_port, s13_port):
        base = f"http://127.0.0.1:{http_port}"
        n5g = httpx.get(f"{base}/n5g-eir-eic/v1/equipment-status", params={"pei": f"imei-{WHITE}"})
        with socket.create_connection(("127.0.0.1", s13_port), timeout=10) as sock:
            sock.settimeout(10)
            sock.sendall(micr(NEW, 1, imsi="401021234567890").as_bytes())
            mica = read_answer(sock)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert n5g.json() == {"status": "WHITELISTED"}
    assert mica.experimental_result.experimental_result_code == 5422
    assert process.returncode == 0, output
    assert "Stopped." in output
    with registry.engine.connect() as conn:  # the unknown IMEI's check was written at shutdown
        recorded = {(r.imei, r.operator) for r in conn.execute(select(sightings))}
    assert (NEW, "KCELL") in recorded


def test_sigterm_also_flushes_the_recorded_checks(
    registry: Runtime, registry_url: str, workdir: Path
) -> None:
    with serving(registry_url, workdir) as (process, http_port, _):
        answer = httpx.get(
            f"http://127.0.0.1:{http_port}/n5g-eir-eic/v1/equipment-status",
            params={"pei": f"imei-{NEW}"},
        )
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert answer.status_code == 404
    assert process.returncode == 0, output
    with registry.engine.connect() as conn:
        assert [r.imei for r in conn.execute(select(sightings))] == [NEW]


def test_s13_workers_share_the_port_and_all_flush_on_sigint(
    registry: Runtime, registry_url: str, workdir: Path
) -> None:
    unknown = [body + check_digit(body) for body in (f"35693803{n:06d}" for n in range(12))]
    with serving(registry_url, workdir, "--s13-workers", "2") as (process, _, s13_port):
        for hbh, imei in enumerate(unknown, start=1):  # a connection each: the kernel spreads them
            with socket.create_connection(("127.0.0.1", s13_port), timeout=10) as sock:
                sock.settimeout(10)
                sock.sendall(micr(imei, hbh).as_bytes())
                assert read_answer(sock).experimental_result.experimental_result_code == 5422
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    with registry.engine.connect() as conn:
        recorded = {r.imei for r in conn.execute(select(sightings))}
    assert recorded == set(unknown)
