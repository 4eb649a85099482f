"""Operator data at national scale, on PostgreSQL: ingest, sweep, list generation.

    python3 bench/bench_operator.py [--scale 1.0] [--admin-url postgresql://postgres@127.0.0.1/postgres]

Creates a fresh database (dropped at the end) on the local server and, at two sizes (a tenth
of the scale, then the scale: 1 M and 10 M rows at --scale 1), measures:
- ingest + status update of an observation dump (rows over half as many IMEIs), its rate, and
  its ratio to a plain `COPY` of the same file into an unindexed table (goal <= 2.0x): a first
  load (every IMEI new), then the next day's dump of the same phones (IMEIs known, sightings
  widened), each against its own COPY;
- the write floor of a first load: the time to `COPY` just the rows any design must leave
  (one per IMEI and one per triplet, each under its key; then one history row per new IMEI),
  aggregated and sorted beforehand, outside the clock: a lower bound for the ingest ratio;
- peak RSS of the ingest process, run as a child (goal <= 500 MB whatever the size);
- the sweep over N IMEIs of which N/10 expire (goal at 10 M: <= 60 s);
- a full black-list generation of N/10 IMEIs (goal at 1 M: <= 10 s) and a delta after N/1000
  changes (goal at 10 k: <= 1 s).
Prints one table. Times are wall-clock on a shared machine: expect noise.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_observations import generate
from tizim.config import Settings
from tizim.runtime import Runtime
from tizim.storage.db import normalise_url
from tizim.storage.migrate import upgrade_schema

NOW = datetime(2025, 9, 30, 12, 0, tzinfo=ZoneInfo("Asia/Almaty"))
OPERATOR = "KCELL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 10 M rows / 10 M IMEIs")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--only", choices=("ingest", "lists"), help="run one half: ingest, or sweep + lists"
    )
    parser.add_argument(
        "--ingest-child", nargs=3, metavar=("URL", "FILE", "NOW"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.ingest_child:
        ingest_child(*args.ingest_child)
        return
    # A stopped run (SIGTERM) still drops its database, via the `finally` below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    admin = create_engine(normalise_url(args.admin_url), isolation_level="AUTOCOMMIT")
    name = f"tizim_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(args.admin_url)).set(database=name)
    url_text = url.render_as_string(hide_password=False)
    results: list[tuple[str, str, str, str]] = []
    try:
        runtime = Runtime(Settings(database_url=url_text))
        upgrade_schema(runtime.engine)
        with runtime.transaction() as conn:
            from tizim.services.orgs import Role, create_organisation

            create_organisation(
                conn, code=OPERATOR, role=Role.OPERATOR, mcc_mncs=("40102",), now=NOW
            )
        full = max(int(10_000_000 * args.scale), 1000)
        with tempfile.TemporaryDirectory(prefix="tizim-bench-") as scratch:
            for size in (full // 10, full) if args.only != "lists" else ():
                results += bench_ingest(runtime, url_text, Path(scratch), size)
            for size in (full // 10, full) if args.only != "ingest" else ():
                results += bench_sweep_and_lists(runtime, Path(scratch), size)
        with runtime.transaction() as conn:
            server = {
                setting: conn.execute(text(f"SHOW {setting}")).scalar_one()
                for setting in ("server_version", "shared_buffers", "max_wal_size", "work_mem")
            }
        runtime.close()
        print_table(results)  # before the clean-up: a slow DROP must not lose the numbers
        print("PostgreSQL: " + ", ".join(f"{key} {value}" for key, value in server.items()))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bench_ingest(
    runtime: Runtime, url: str, scratch: Path, rows: int
) -> list[tuple[str, str, str, str]]:
    """A first load (every IMEI new), then the next day's dump of the same phones."""
    empty(runtime)
    label = f"{rows / 1e6:g} M rows"
    results: list[tuple[str, str, str, str]] = []
    for day, what in ((0, "first load, IMEIs new"), (1, "next day, IMEIs known")):
        now = NOW + timedelta(days=day)
        dump = scratch / f"observations-{rows}-{day}.csv"
        generate(dump, rows=rows, imeis=rows // 2, now=now.replace(tzinfo=None), seed=7 + day)
        first_load = day == 0
        copy_seconds = plain_copy(runtime, dump, keep=first_load)
        floor_rows: list[tuple[str, str, str, str]] = []
        floor_note = ""
        if first_load:
            keyed, history = write_floor(runtime, scratch)
            floor_rows = [
                (
                    "write floor: IMEI + triplet rows by COPY, pre-aggregated, sorted",
                    label,
                    f"{keyed:.1f} s",
                    f"{keyed / copy_seconds:.1f}x COPY",
                ),
                (
                    "write floor: + one history row per new IMEI",
                    label,
                    f"{keyed + history:.1f} s",
                    f"{(keyed + history) / copy_seconds:.1f}x COPY",
                ),
            ]
        seconds, rss_mb, report = run_ingest_child(url, dump, now)
        if first_load:
            floor_note = f"; {seconds / (keyed + history):.1f}x the write floor"
        dump.unlink()
        counts = report["counts"]
        results += [
            (f"plain COPY into unindexed table ({what})", label, f"{copy_seconds:.1f} s", ""),
            *floor_rows,
            (
                f"ingest + status update ({what})",
                label,
                f"{seconds:.1f} s ({rows / seconds:,.0f} rows/s)",
                f"{seconds / copy_seconds:.1f}x COPY (goal <= 2.0x){floor_note}",
            ),
            (f"ingest peak RSS ({what})", label, f"{rss_mb:,.0f} MB", "goal <= 500 MB"),
            (
                f"ingest result ({what})",
                label,
                f"{counts.get('imeis_new', 0):,} new IMEIs,"
                f" {counts.get('imeis_seen_times_changed', 0):,} moved",
                f"{counts.get('sightings_extended', 0):,} sightings extended",
            ),
        ]
    return results


def run_ingest_child(url: str, dump: Path, now: datetime) -> tuple[float, float, dict[str, Any]]:
    """Ingest `dump` in a child process: seconds, its peak RSS in MB, and the report."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--ingest-child", url, str(dump), now.isoformat()],
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"the ingest child failed ({status})")
    return seconds, usage.ru_maxrss / 1024, json.loads(output)


def ingest_child(url: str, path: str, now: str) -> None:
    from tizim.services.clones import CloneRules
    from tizim.services.ingest import ingest_observations

    runtime = Runtime(Settings(database_url=url))
    with runtime.transaction() as conn:
        report = ingest_observations(
            conn,
            Path(path),
            operator=OPERATOR,
            now=datetime.fromisoformat(now),
            rules=runtime.rules,
            bad_row_threshold=0.05,
            clone_rules=CloneRules(),
        )
    print(json.dumps({"counts": report.counts, "rows": report.rows_accepted}))


def plain_copy(runtime: Runtime, dump: Path, *, keep: bool = False) -> float:
    """The baseline: the same bytes into a table with no index, no checks, no merge.

    With `keep`, the table stays (for `write_floor`); the caller drops it.
    """
    with runtime.transaction() as conn:
        conn.execute(text("DROP TABLE IF EXISTS plain_copy"))
        conn.execute(
            text(
                "CREATE TABLE plain_copy"
                " (seen_at text, imei text, imsi text, msisdn text, rat text)"
            )
        )
    seconds = timed_copy_in(
        runtime, "COPY plain_copy FROM STDIN WITH (FORMAT csv, HEADER true)", dump
    )
    if not keep:
        with runtime.transaction() as conn:
            conn.execute(text("DROP TABLE plain_copy"))
    return seconds


def timed_copy_in(runtime: Runtime, statement: str, path: Path) -> float:
    """Seconds to run `statement` (a COPY ... FROM STDIN) with `path`'s bytes, committed."""
    started = time.perf_counter()
    with runtime.transaction() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(statement) as copy,
            path.open("rb") as source,
        ):
            for block in iter(lambda: source.read(1 << 20), b""):
                copy.write(block)
    return time.perf_counter() - started


# The rows any ingest must leave for a first load, whatever its design: one row per IMEI
# (its first and last sighting, list and grace deadline) under a key, one per IMEI-operator-
# IMSI-MSISDN triplet under its key, and one history row per status change (the IMEI goes
# grey). Keys only: none of the other indexes tizim's tables carry.
FLOOR_TABLES = {
    "floor_imeis": (
        "imei varchar(15) PRIMARY KEY, first_seen_at timestamptz NOT NULL,"
        " last_seen_at timestamptz NOT NULL, list varchar(8) NOT NULL, grace_deadline timestamptz",
        "SELECT imei, min(seen_at)::timestamptz, max(seen_at)::timestamptz, 'grey',"
        " max(seen_at)::timestamptz + interval '30 days' FROM plain_copy GROUP BY imei"
        " ORDER BY imei",
    ),
    "floor_sightings": (
        "imei varchar(15), operator varchar(32), imsi varchar(15), msisdn varchar(15),"
        " first_seen_at timestamptz NOT NULL, last_seen_at timestamptz NOT NULL,"
        " PRIMARY KEY (imei, operator, imsi, msisdn)",
        f"SELECT imei, '{OPERATOR}', imsi, msisdn, min(seen_at)::timestamptz,"
        " max(seen_at)::timestamptz FROM plain_copy GROUP BY imei, imsi, msisdn"
        " ORDER BY imei, imsi, msisdn",
    ),
    "floor_history": (
        "id bigserial PRIMARY KEY, imei varchar(15) NOT NULL, to_list varchar(8) NOT NULL,"
        " reasons varchar(200) NOT NULL, source varchar(100) NOT NULL,"
        " changed_at timestamptz NOT NULL",
        f"SELECT DISTINCT imei, 'grey', 'NOT_YET_VERIFIED', 'operator:{OPERATOR}',"
        " now() FROM plain_copy ORDER BY imei",
    ),
}


def write_floor(runtime: Runtime, scratch: Path) -> tuple[float, float]:
    """Seconds to write just the rows a first load must leave (`FLOOR_TABLES`), by `COPY`
    of rows aggregated and sorted beforehand (outside the clock): no parsing, no checks, no
    aggregation, keys inserted in order. Reads `plain_copy`, then drops it.

    Returns (IMEI rows + triplet rows, history rows): a lower bound for any design that
    keeps those rows, to set against the plain `COPY` of the file.
    """
    exports = {}
    with runtime.transaction() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        for name, (columns, query) in FLOOR_TABLES.items():
            conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
            conn.execute(text(f"CREATE TABLE {name} ({columns})"))
            exports[name] = scratch / f"{name}.copy"
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY ({query}) TO STDOUT") as copy,
                exports[name].open("wb") as out,
            ):
                for block in copy:
                    out.write(block)
        conn.execute(text("DROP TABLE plain_copy"))
    seconds = {}
    for name, path in exports.items():
        target = "floor_history (imei, to_list, reasons, source, changed_at)"
        statement = f"COPY {target if name == 'floor_history' else name} FROM STDIN"
        seconds[name] = timed_copy_in(runtime, statement, path)
        path.unlink()
    with runtime.transaction() as conn:
        conn.execute(text("DROP TABLE " + ", ".join(FLOOR_TABLES)))
    return seconds["floor_imeis"] + seconds["floor_sightings"], seconds["floor_history"]


def bench_sweep_and_lists(
    runtime: Runtime, scratch: Path, total: int
) -> list[tuple[str, str, str, str]]:
    """N IMEIs: N/10 grey and expired at NOW, 2N/10 grey in grace, the rest white."""
    from tizim.services.notifications import NotificationPlan
    from tizim.services.operator_lists import generate_lists
    from tizim.services.sweep import sweep
    from tizim.storage.refresh import refresh_statuses
    from tizim.storage.schema import imeis

    empty(runtime)
    expiring, in_grace = total // 10, total // 5
    with runtime.transaction() as conn:
        conn.execute(
            text(
                """
                INSERT INTO imeis (imei, first_seen_at, last_seen_at, trusted_source,
                                   list, reasons, grace_deadline, list_since)
                SELECT lpad(n::text, 15, '0'), seen, seen, n >= :grey,
                       CASE WHEN n >= :grey THEN 'white' ELSE 'grey' END,
                       CASE WHEN n >= :grey THEN 'TRUSTED_SOURCE' ELSE 'GRACE_PERIOD' END,
                       CASE WHEN n >= :grey THEN NULL ELSE timezone('Asia/Almaty',
                            (timezone('Asia/Almaty', seen)::date + 30)::timestamp) END,
                       seen
                FROM (SELECT n, CASE WHEN n < :expiring THEN :old ELSE :recent END AS seen
                      FROM generate_series(0, :total - 1) AS n) AS g
                """
            ),
            {
                "total": total,
                "expiring": expiring,
                "grey": expiring + in_grace,
                "old": NOW - timedelta(days=40),
                "recent": NOW - timedelta(days=5),
            },
        )
        conn.execute(text("ANALYZE imeis"))
    label = f"{total / 1e6:g} M IMEIs"
    started = time.perf_counter()
    with runtime.transaction() as conn:
        changed = sweep(conn, now=NOW, rules=runtime.rules).changed
    sweep_seconds = time.perf_counter() - started
    plan = NotificationPlan()
    with runtime.transaction() as conn:
        first = generate_lists(conn, scratch / "lists", now=NOW, rules=runtime.rules, plan=plan)
    black = first.file("black.csv")
    assert black is not None
    changes = max(total // 1000, 1)
    with runtime.transaction() as conn:
        conn.execute(
            text(
                "UPDATE imeis SET verified = true WHERE imei IN (SELECT imei FROM imeis"
                " WHERE list = 'black' ORDER BY imei LIMIT :n)"
            ),
            {"n": changes},
        )
        refresh_statuses(
            conn,
            imeis.c.verified,
            now=NOW + timedelta(hours=1),
            rules=runtime.rules,
            source="bench",
        )
    with runtime.transaction() as conn:
        second = generate_lists(
            conn, scratch / "lists", now=NOW + timedelta(hours=1), rules=runtime.rules, plan=plan
        )
    delta = second.file("delta.csv")
    assert delta is not None
    return [
        ("sweep", label, f"{sweep_seconds:.1f} s", f"{changed:,} IMEIs went black"),
        (
            "black-list file",
            f"{black.rows / 1e6:g} M blocked",
            f"{black.seconds:.1f} s",
            "goal at 1 M: <= 10 s",
        ),
        (
            "delta file",
            f"after {changes:,} changes",
            f"{delta.seconds:.2f} s",
            f"{delta.rows:,} rows; goal at 10 k: <= 1 s",
        ),
    ]


def empty(runtime: Runtime) -> None:
    with runtime.transaction() as conn:
        conn.execute(
            text(
                "TRUNCATE imeis, sightings, status_changes, uploads, imei_facts, list_generations"
                " RESTART IDENTITY"
            )
        )


def print_table(results: list[tuple[str, str, str, str]]) -> None:
    headers = ("measure", "size", "result", "note")
    widths = [max(len(row[i]) for row in [headers, *results]) for i in range(4)]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    print(line.format(*headers))
    print(line.format(*("-" * width for width in widths)))
    for row in results:
        print(line.format(*row))
    print(f"\nmachine: {os.cpu_count()} cores, shared with other work: times are noisy", flush=True)


if __name__ == "__main__":
    main()
