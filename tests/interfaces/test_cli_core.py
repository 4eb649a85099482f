"""The `tizim` command end to end: a real subprocess on each database."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_tizim
from tizim.clock import parse_moment
from tizim.runtime import Runtime
from tizim.services.facts import record_sighting

IMEI = "490154203237518"


def seed_sighting(registry: Runtime, when: str) -> None:
    with registry.transaction() as conn:
        record_sighting(
            conn,
            imei=IMEI,
            operator="KCELL",
            imsi="401021234567890",
            msisdn="77011234567",
            seen_at=parse_moment(when),
            now=parse_moment(when),
            rules=registry.rules,
        )


def test_check_json_has_exactly_the_contract_shape(registry: Runtime, registry_url: str) -> None:
    seed_sighting(registry, "2025-09-10T10:00")
    done = run_tizim(
        "check", "4901542032375102", "--now", "2025-09-20", "--json", database_url=registry_url
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "imei": IMEI,
        "list": "grey",
        "reasons": ["GRACE_PERIOD"],
        "grace_deadline": "2025-10-09T19:00:00+00:00",
        "device": None,
    }


def test_an_invalid_imei_is_an_answer_not_an_error(registry: Runtime, registry_url: str) -> None:
    done = run_tizim("check", "12345", "--json", database_url=registry_url)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["list"], answer["reasons"]) == ("black", ["INVALID_FORMAT"])


def test_sweep_history_and_stats(registry: Runtime, registry_url: str) -> None:
    seed_sighting(registry, "2025-09-10T10:00")
    swept = run_tizim("sweep", "--now", "2025-10-10T00:00", database_url=registry_url)
    assert swept.returncode == 0, swept.stderr
    assert "1 IMEIs changed list" in swept.stdout
    again = run_tizim("sweep", "--now", "2025-10-10T00:00", database_url=registry_url)
    assert "0 IMEIs changed list" in again.stdout
    history = run_tizim("history", IMEI, database_url=registry_url)
    assert history.returncode == 0, history.stderr
    assert "GRACE_EXPIRED" in history.stdout and "sweep" in history.stdout
    stats = run_tizim("stats", "--now", "2025-10-10T12:00", database_url=registry_url)
    assert stats.returncode == 0, stats.stderr
    assert "blocked today: 1" in stats.stdout


def test_usage_errors_exit_2(registry_url: str) -> None:
    done = run_tizim("check", IMEI, "--now", "yesterday", database_url=registry_url)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_an_uninitialised_database_is_refused_with_advice(workdir: Path) -> None:
    done = run_tizim("check", IMEI, database_url=f"sqlite:///{workdir / 'empty.db'}")
    assert done.returncode == 2
    assert "tizim init" in done.stderr
    assert "Traceback" not in done.stderr


def test_init_then_demo_on_a_fresh_sqlite_file(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'demo.db'}"
    assert run_tizim("init", database_url=url).returncode == 0
    done = run_tizim(
        "demo", "--devices", "800", "--no-serve", "--now", "2025-11-20T12:00", database_url=url
    )
    assert done.returncode == 0, done.stderr
    assert "Built 800 devices" in done.stdout
    for heading in ("white", "grey", "black", "blocked today"):
        assert heading in done.stdout
    answer = json.loads(run_tizim("check", "000000000000000", "--json", database_url=url).stdout)
    assert answer["reasons"] == ["RESERVED_IMEI"]
