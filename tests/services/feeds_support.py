"""Helpers for the issue-4 tests: valid IMEIs, CSV files, organisations, list look-ups."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tizim.domain.imei import check_digit
from tizim.runtime import Runtime
from tizim.services.check import stored_status
from tizim.services.orgs import Role, create_organisation

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=ALMATY)
DUAL_TAC = "35033332"  # iPhone 15 Pro Max, 2 slots (sample TAC file)
SINGLE_TAC = "35322110"  # not in the test TAC file unless a test adds it


def imei(tac: str, serial: int) -> str:
    body = f"{tac}{serial:06d}"
    return body + check_digit(body)


def bad_check_digit(valid: str) -> str:
    return valid[:14] + str((int(valid[14]) + 1) % 10)


def write_csv(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path


def add_org(registry: Runtime, code: str, role: Role, **extra: object) -> str:
    with registry.transaction() as conn:
        return create_organisation(conn, code=code, role=role, now=NOW, **extra)[1]  # type: ignore[arg-type]


def listed(registry: Runtime, value: str) -> tuple[str, tuple[str, ...]]:
    with registry.engine.connect() as conn:
        status = stored_status(conn, value)
    assert status is not None, f"{value} is not in the registry"
    return status.list.value, tuple(reason.value for reason in status.reasons)
