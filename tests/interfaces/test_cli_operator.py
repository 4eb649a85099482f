"""The operator commands through the real `tizim` executable, on both databases."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.cli import run_tizim
from tizim.runtime import Runtime
from tizim.services.orgs import Role, create_organisation

ALMATY = ZoneInfo("Asia/Almaty")
IMEI = "490154203237518"


def operators(registry: Runtime) -> None:
    with registry.transaction() as conn:
        now = datetime(2025, 1, 1, tzinfo=ALMATY)
        create_organisation(conn, code="KCELL", role=Role.OPERATOR, mcc_mncs=("40102",), now=now)
        create_organisation(conn, code="IMP-1", role=Role.IMPORTER, now=now)


def observations(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(("seen_at,imei,imsi,msisdn,rat", *lines)) + "\n")
    return path


def test_ingest_prints_a_summary_and_the_list_follows(
    registry: Runtime, registry_url: str, workdir: Path
) -> None:
    operators(registry)
    lines = [f"2025-09-01T10:{n:02d}:00,{IMEI},401021111111111,77011111111,4G" for n in range(30)]
    lines.append(f"2025-09-01T11:00:00,{IMEI},4010211111X,77011111111,4G")  # line 32
    path = observations(workdir / "kcell.csv", *lines)
    done = run_tizim(
        "ingest",
        "observations",
        str(path),
        "--operator",
        "KCELL",
        "--now",
        "2025-09-02",
        database_url=registry_url,
    )
    assert done.returncode == 0, done.stderr
    assert "rows accepted" in done.stdout and "30" in done.stdout
    assert "32" in done.stdout and "BAD_IMSI" in done.stdout
    assert "77011111111" not in done.stdout + done.stderr  # no MSISDN in the output
    check = run_tizim("check", IMEI, "--now", "2025-09-02", "--json", database_url=registry_url)
    assert json.loads(check.stdout)["list"] == "grey"
    again = run_tizim(
        "ingest",
        "observations",
        str(path),
        "--operator",
        "KCELL",
        "--now",
        "2025-09-02",
        database_url=registry_url,
    )
    assert again.returncode == 0 and "already accepted" in again.stdout


def test_a_refused_file_exits_1_and_an_unknown_operator_exits_2(
    registry: Runtime, registry_url: str, workdir: Path
) -> None:
    operators(registry)
    bad = observations(workdir / "bad.csv", f"not-a-time,{IMEI},401021111111111,77011111111,4G")
    refused = run_tizim(
        "ingest",
        "observations",
        str(bad),
        "--operator",
        "KCELL",
        "--json",
        database_url=registry_url,
    )
    assert refused.returncode == 1
    report = json.loads(refused.stdout)
    assert report["refused"] and report["errors"][0]["line"] == 2
    for operator in ("NOBODY", "IMP-1"):
        wrong = run_tizim(
            "ingest", "observations", str(bad), "--operator", operator, database_url=registry_url
        )
        assert wrong.returncode == 2 and "not a registered operator" in wrong.stderr


def test_lists_generate_writes_a_generation_with_its_manifest(
    registry: Runtime, registry_url: str, workdir: Path
) -> None:
    operators(registry)
    path = observations(
        workdir / "k.csv", f"2025-09-01T10:00:00,{IMEI},401021111111111,77011111111,"
    )
    run_tizim(
        "ingest",
        "observations",
        str(path),
        "--operator",
        "KCELL",
        "--now",
        "2025-09-01T20:00",
        database_url=registry_url,
    )
    done = run_tizim(
        "lists",
        "generate",
        "--now",
        "2025-09-01T22:00",
        str(workdir / "out"),
        database_url=registry_url,
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((workdir / "out" / "generation-000001" / "manifest.json").read_text())
    files = {entry["name"]: entry["rows"] for entry in manifest["files"]}
    assert files == {"black.csv": 0, "grey.csv": 1, "delta.csv": 1, "notifications-KCELL.csv": 1}


def test_clones_report_lists_suspects_as_json(
    registry: Runtime, registry_url: str, workdir: Path
) -> None:
    operators(registry)
    lines = [f"2025-09-0{n}T10:00:00,{IMEI},40102000000000{n},7701000000{n}," for n in range(1, 6)]
    run_tizim(
        "ingest",
        "observations",
        str(observations(workdir / "c.csv", *lines)),
        "--operator",
        "KCELL",
        "--now",
        "2025-09-10",
        database_url=registry_url,
    )
    done = run_tizim("clones", "report", "--json", "--now", "2025-09-10", database_url=registry_url)
    assert done.returncode == 0, done.stderr
    [suspect] = [json.loads(line) for line in done.stdout.splitlines()]
    assert suspect["imei"] == IMEI and suspect["imsis_in_window"] == 5
