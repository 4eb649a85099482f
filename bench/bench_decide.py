"""How long deciding one owner application takes on PostgreSQL (target: ≤ 50 ms).

Creates a throw-away database on the server named by TIZIM_BENCH_POSTGRES_URL (default: the
local server, as the tests use), migrates it, loads a TAC table, a background of grey IMEIs and
customs declarations, then submits applications and times, each in its own committed
transaction: the pre-check, the submission, and the decision (approve and refuse paths). The
database is dropped at the end. Run: `python3 bench/bench_decide.py [--applications N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tizim.adapters.reference_state import reference_registries
from tizim.config import Settings
from tizim.domain.iin import iin_check_digit
from tizim.domain.imei import check_digit
from tizim.eds_test_ca import issue_test_certificate, sign_body
from tizim.runtime import Runtime
from tizim.services.applications import ApplicationPolicy, precheck_application, submit_application
from tizim.services.decisions import (
    ApplicationStatus,
    add_event,
    application_row,
    decide_application,
)
from tizim.storage.db import normalise_url
from tizim.storage.migrate import upgrade_schema
from tizim.storage.schema import imeis, tacs
from tizim.storage.tables_applications import customs_declarations

ADMIN_URL = os.environ.get(
    "TIZIM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2025, 9, 1, 5, 0, tzinfo=UTC)
TACS = [f"3529{n:04d}" for n in range(200)]


def imei(tac: str, serial: int) -> str:
    body = f"{tac}{serial:06d}"
    return body + check_digit(body)


def iin(serial: int) -> str:
    while True:
        first = f"900101{3}{serial % 10000:04d}"
        digit = iin_check_digit(first)
        if digit is not None:
            return first + str(digit)
        serial += 1


def admin(statement: str) -> None:
    engine = create_engine(normalise_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


def seed(runtime: Runtime, background: int, applicants: int) -> None:
    with runtime.transaction() as conn:
        conn.execute(
            tacs.insert(),
            [
                {
                    "tac": t,
                    "brand": "Bench",
                    "model": f"M{t}",
                    "device_type": "phone",
                    "sim_slots": 2,
                }
                for t in TACS
            ],
        )
        for start in range(0, background, 10_000):
            conn.execute(
                imeis.insert(),
                [
                    {
                        "imei": imei(TACS[n % len(TACS)], 500_000 + n),
                        "first_seen_at": NOW - timedelta(days=5),
                        "list": "grey",
                        "reasons": "GRACE_PERIOD",
                        "list_since": NOW - timedelta(days=5),
                    }
                    for n in range(start, min(start + 10_000, background))
                ],
            )
        conn.execute(
            customs_declarations.insert(),
            [
                {
                    "declaration_number": f"DT-{n}",
                    "imei": imei(TACS[n % len(TACS)], n * 2 + d),
                    "declarant_iin": iin(n),
                    "declared_on": NOW.date(),
                }
                for n in range(applicants)
                for d in (0, 1)
            ],
        )


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=200)
    parser.add_argument("--background-imeis", type=int, default=100_000)
    args = parser.parse_args()
    name = f"tizim_bench_{uuid.uuid4().hex[:8]}"
    admin(f'CREATE DATABASE "{name}"')
    url = (
        make_url(normalise_url(ADMIN_URL)).set(database=name).render_as_string(hide_password=False)
    )
    runtime = Runtime(Settings(database_url=url))
    try:
        upgrade_schema(runtime.engine)
        seed(runtime, args.background_imeis, args.applications)
        results = run(runtime, args.applications)
    finally:
        runtime.close()
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report(results, args)


def run(runtime: Runtime, count: int) -> dict[str, list[float]]:
    policy = ApplicationPolicy.from_settings(runtime.settings)
    results: dict[str, list[float]] = {
        "precheck": [],
        "submit": [],
        "decide (approve)": [],
        "decide (refuse)": [],
    }
    for n in range(count):
        bench_one(runtime, n, count, policy, results)
    return results


def bench_one(
    runtime: Runtime,
    n: int,
    count: int,
    policy: ApplicationPolicy,
    results: dict[str, list[float]],
) -> None:
    """Pre-check, submit, mark paid and decide application number n; record the timings."""
    rules = runtime.rules
    applicant = iin(n)
    cert = issue_test_certificate(applicant, now=NOW)
    refused = n % 4 == 3  # every fourth names a declaration of someone else
    declaration = f"DT-{(n + 1) % count}" if refused else f"DT-{n}"
    body = {
        "type": "verification",
        "applicant_iin": applicant,
        "imeis": [imei(TACS[n % len(TACS)], n * 2), imei(TACS[n % len(TACS)], n * 2 + 1)],
        "proof": {"kind": "customs", "declaration_number": declaration},
    }
    signature = sign_body(body, cert.key_pem)
    numbers: list[str] = []

    def precheck() -> None:
        with runtime.transaction() as conn:
            precheck_application(
                conn,
                body,
                signature,
                cert.certificate_pem,
                now=NOW,
                rules=rules,
                policy=policy,
                registries=reference_registries(conn, rules),
            )

    def submit() -> None:
        with runtime.transaction() as conn:
            numbers.append(
                submit_application(
                    conn,
                    body,
                    signature,
                    cert.certificate_pem,
                    provider="bench",
                    language="ru",
                    now=NOW,
                    rules=rules,
                    policy=policy,
                    registries=reference_registries(conn, rules),
                )
            )

    results["precheck"].append(timed(precheck))
    results["submit"].append(timed(submit))
    with runtime.transaction() as conn:  # paid (the gateway is not what is measured)
        row = application_row(conn, numbers[0])
        assert row is not None
        add_event(conn, row.id, ApplicationStatus.PAID, actor="bench", now=NOW)

    def decide() -> None:
        with runtime.transaction() as conn:
            status = decide_application(
                conn,
                numbers[0],
                now=NOW,
                rules=rules,
                registries=reference_registries(conn, rules),
            )
            assert (status is ApplicationStatus.REFUSED) == refused, status

    results["decide (refuse)" if refused else "decide (approve)"].append(timed(decide))


def report(results: dict[str, list[float]], args: argparse.Namespace) -> None:
    table = Table(
        title=f"Owner applications on PostgreSQL ({args.applications} applications, "
        f"{args.background_imeis:,} background IMEIs) — ms per operation"
    )
    for column in ("operation", "n", "mean", "p50", "p95", "max", "target"):
        table.add_column(column, justify="right" if column != "operation" else "left")
    for name, samples in results.items():
        ordered = sorted(samples)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        target = "≤ 50" if name.startswith("decide") else ""
        table.add_row(
            name,
            str(len(samples)),
            f"{statistics.mean(samples):.1f}",
            f"{statistics.median(samples):.1f}",
            f"{p95:.1f}",
            f"{ordered[-1]:.1f}",
            target,
        )
    Console().print(table)


if __name__ == "__main__":
    main()
