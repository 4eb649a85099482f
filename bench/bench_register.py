"""Benchmark: one importer file of 1 M devices (~1.5 M IMEIs) loaded on PostgreSQL.

    python3 bench/bench_register.py [--devices 1000000] [--admin-url postgresql://postgres@127.0.0.1/test]

Creates a throw-away database (`tizim_bench_register`) on the local server, migrates it,
loads the sample TAC table, writes the CSV to a temporary directory, times
`register_devices` (parse, check, stage by COPY, set-based merge, list refresh, commit), loads
the same file again (the idempotent duplicate path), prints a table and drops the database.
Targets only 127.0.0.1; goal ≥ 50,000 IMEIs/s.

The machine may be shared, so the wall time is split into phases that load on other cores
disturbs less: CPU seconds of this Python process (reading, checking, COPY encoding), CPU
seconds of the server backend that ran the load (read from /proc: the server is local), and
the wall time spent inside SQL statements (the merge; COPY streams are not statements).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from tizim.config import Settings
from tizim.domain.imei import check_digit
from tizim.runtime import Runtime
from tizim.services.demo import sample_tacs
from tizim.services.gsma_feeds import load_tac_database
from tizim.services.orgs import Role, create_organisation
from tizim.services.registrations import register_devices
from tizim.storage.db import normalise_url
from tizim.storage.migrate import upgrade_schema
from tizim.storage.schema import imeis

DATABASE = "tizim_bench_register"
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def write_file(path: Path, devices: int, seed: int = 11) -> int:
    """Half single-IMEI devices, half dual-SIM (models with enough slots); returns IMEIs."""
    rng = random.Random(seed)
    models = sample_tacs()
    dual = [m for m in models if m.sim_slots >= 2]
    serials: dict[str, int] = {}
    written = 0
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["device_ref", "imei", "brand", "model", "document", "registered_on"])
        for number in range(devices):
            model = rng.choice(dual if number % 2 else models)
            count = 2 if number % 2 else 1
            document = f"DT-{number // 5000:06d}"
            for _ in range(count):
                serial = serials.get(model.tac, 0)
                serials[model.tac] = serial + 1
                body = f"{model.tac}{serial:06d}"
                writer.writerow(
                    [
                        f"DEV{number:08d}",
                        body + check_digit(body),
                        model.brand,
                        model.model,
                        document,
                        "2026-02-1" + str(number % 10),
                    ]
                )
                written += 1
    return written


def backend_cpu_seconds(conn: Connection) -> float:
    """User + system CPU time of this connection's server process so far."""
    pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class StatementClock:
    """Wall time spent inside SQL statements on an engine."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.seconds = 0.0
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn, *_args) -> None:  # type: ignore[no-untyped-def]
        conn.info["statement_started"] = time.perf_counter()

    def after(self, conn, *_args) -> None:  # type: ignore[no-untyped-def]
        self.seconds += time.perf_counter() - conn.info.pop("statement_started")


def admin_engine(url: str):  # type: ignore[no-untyped-def]
    return create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    admin = admin_engine(args.admin_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    url = make_url(normalise_url(args.admin_url)).set(database=DATABASE)
    runtime = Runtime(Settings(database_url=url.render_as_string(hide_password=False)))
    rows: list[tuple[str, str]] = []
    try:
        upgrade_schema(runtime.engine)
        with tempfile.TemporaryDirectory() as scratch:
            tac_file = Path(scratch) / "tacs.csv"
            with tac_file.open("w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(["tac", "brand", "model", "device_type", "sim_slots"])
                for m in sample_tacs():
                    writer.writerow([m.tac, m.brand, m.model, m.device_type, m.sim_slots])
            with runtime.transaction() as conn:
                load_tac_database(conn, tac_file, now=NOW, rules=runtime.rules, loaded_by="bench")
                create_organisation(conn, code="IMP-BENCH", role=Role.IMPORTER, now=NOW)
            path = Path(scratch) / "registrations.csv"
            started = time.perf_counter()
            imei_count = write_file(path, args.devices)
            rows.append(("file written (not timed)", f"{time.perf_counter() - started:.1f} s"))
            rows.append(("devices / IMEIs", f"{args.devices:,} / {imei_count:,}"))
            rows.append(("file size", f"{path.stat().st_size / 1e6:.0f} MB"))
            statements = StatementClock(runtime.engine)
            for label in ("first load", "same file again"):
                started = time.perf_counter()
                python_cpu, statements.seconds = time.process_time(), 0.0
                with runtime.transaction() as conn:
                    server_cpu = backend_cpu_seconds(conn)
                    report = register_devices(
                        conn,
                        path,
                        organisation="IMP-BENCH",
                        now=NOW,
                        rules=runtime.rules,
                        bad_row_threshold=0.05,
                    )
                    server_cpu = backend_cpu_seconds(conn) - server_cpu
                elapsed = time.perf_counter() - started
                python_cpu = time.process_time() - python_cpu
                if label == "first load":
                    rows.append((f"{label}: Python CPU s", f"{python_cpu:.1f}"))
                    rows.append((f"{label}: server CPU s", f"{server_cpu:.1f}"))
                    rows.append((f"{label}: in SQL statements s", f"{statements.seconds:.1f}"))
                rows.append((f"{label}: seconds", f"{elapsed:.1f}"))
                rows.append((f"{label}: IMEIs/s", f"{imei_count / elapsed:,.0f}"))
                rows.append((f"{label}: counts", str(report.counts)))
            with runtime.engine.connect() as conn:
                white = conn.execute(
                    select(func.count()).select_from(imeis).where(imeis.c.list == "white")
                ).scalar_one()
            rows.append(("white IMEIs after load", f"{white:,}"))
    finally:
        runtime.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()
    width = max(len(label) for label, _ in rows)
    print(f"{'measure':<{width}} | value")
    print(f"{'-' * width}-+-{'-' * 40}")
    for label, value in rows:
        print(f"{label:<{width}} | {value}")


if __name__ == "__main__":
    main()
