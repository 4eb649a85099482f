"""`tizim orgs`, `tizim register` and `tizim feeds load` as real commands."""

from __future__ import annotations

from pathlib import Path

from tests.services.feeds_support import imei, write_csv
from tests.support.cli import run_tizim

NOW = "2026-03-01T12:00"


def test_orgs_register_and_feeds_from_the_command_line(registry_url: str, tmp_path: Path) -> None:
    added = run_tizim(
        "orgs", "add", "IMP-A", "--role", "importer", "--now", NOW, database_url=registry_url
    )
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("tz_")
    listing = run_tizim("orgs", "list", database_url=registry_url)
    assert "IMP-A" in listing.stdout and key not in listing.stdout
    value = imei("35033332", 5)
    registrations = write_csv(
        tmp_path / "r.csv",
        "device_ref,imei,brand,model,document,registered_on",
        f"D1,{value},A,B,DT,2026-02-01",
    )
    done = run_tizim(
        "register", str(registrations), "--org", "IMP-A", "--now", NOW, database_url=registry_url
    )
    assert done.returncode == 0 and "imeis_registered: 1" in done.stdout, done.stdout + done.stderr
    police = write_csv(
        tmp_path / "p.csv", "imei,action,case_number,reported_at", f"{value},add,KZ-1,2026-02-02"
    )
    loaded = run_tizim(
        "feeds", "load", "police", str(police), "--now", NOW, database_url=registry_url
    )
    assert loaded.returncode == 0, loaded.stderr
    check = run_tizim("check", value, "--json", "--now", NOW, database_url=registry_url)
    assert '"REPORTED_STOLEN"' in check.stdout
    refused = run_tizim(
        "feeds", "load", "tac", str(police), "--now", NOW, database_url=registry_url
    )
    assert refused.returncode == 1 and "refused" in refused.stderr
    revoked = run_tizim(
        "orgs", "revoke-key", key.split("_")[1], "--now", NOW, database_url=registry_url
    )
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    unknown = run_tizim("register", str(registrations), "--org", "NOPE", database_url=registry_url)
    assert unknown.returncode == 2
