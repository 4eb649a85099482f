"""`tizim conflicts list|resolve` in a real subprocess, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

from tests.services.feeds_support import DUAL_TAC, NOW, add_org, imei, write_csv
from tests.support.cli import run_tizim
from tizim.runtime import Runtime
from tizim.services.orgs import Role
from tizim.services.registrations import register_devices

HEADER = "device_ref,imei,brand,model,document,registered_on"
PHONE = imei(DUAL_TAC, 3)


def test_staff_list_and_transfer_a_conflict_from_the_command_line(
    registry: Runtime, registry_url: str, tmp_path: Path
) -> None:
    for org, ref in (("IMP-A", "D1"), ("IMP-B", "X1")):
        add_org(registry, org, Role.IMPORTER)
        path = write_csv(tmp_path / f"{org}.csv", HEADER, f"{ref},{PHONE},A,B,DT,2026-02-01")
        with registry.transaction() as conn:
            register_devices(
                conn, path, organisation=org, now=NOW, rules=registry.rules, bad_row_threshold=0.5
            )
    listed = run_tizim("conflicts", "list", "--json", database_url=registry_url)
    assert listed.returncode == 0, listed.stderr
    (conflict,) = json.loads(listed.stdout)
    assert (conflict["imei"], conflict["organisation"]) == (PHONE, "IMP-B")
    conflict_id = str(conflict["id"])

    def resolve(*flags: str) -> tuple[int, str, str]:
        done = run_tizim(
            "conflicts", "resolve", conflict_id, *flags, "--staff", "aigerim",
            "--note", "IMP-B's declaration", database_url=registry_url,
        )  # fmt: skip
        return done.returncode, done.stdout, done.stderr

    assert resolve("--keep-existing", "--transfer")[0] == 2
    assert resolve()[0] == 2
    code, out, err = resolve("--transfer")
    assert code == 0, err
    assert "transfer by aigerim" in out and "registered to IMP-B" in out
    code, _, err = resolve("--keep-existing")
    assert code == 1 and "already resolved" in err
    unknown = run_tizim(
        "conflicts", "resolve", "9999", "--transfer", "--staff", "aigerim", "--note", "x",
        database_url=registry_url,
    )  # fmt: skip
    assert unknown.returncode == 1 and "no registration conflict 9999" in unknown.stderr
    history = run_tizim("history", PHONE, database_url=registry_url)
    assert "TRUSTED_REGISTRATION_WITHDRAWN" in history.stdout
    assert "staff:aigerim" in history.stdout
    resolved = run_tizim("conflicts", "list", "--state", "resolved", database_url=registry_url)
    assert resolved.returncode == 0 and "1 conflict(s)" in resolved.stdout
