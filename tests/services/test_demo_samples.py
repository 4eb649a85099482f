"""The sample files shipped for the demo load cleanly and do what they say, on both databases."""

from __future__ import annotations

import csv
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.services.feeds_support import listed
from tizim.runtime import Runtime
from tizim.services.demo import DEMO_ORGANISATIONS, TAC_SAMPLE, create_demo_organisations
from tizim.services.gsma_feeds import load_tac_database
from tizim.services.police import load_police_reports
from tizim.services.registrations import register_devices
from tizim.services.repairs import load_repairs

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=ZoneInfo("Asia/Almaty"))


def sample(name: str) -> Path:
    return Path(str(resources.files("tizim.data").joinpath(name)))


def rows(name: str) -> list[dict[str, str]]:
    with sample(name).open(encoding="utf-8") as text:
        return list(csv.DictReader(text))


def test_the_sample_files_load_without_errors_and_set_the_lists(registry: Runtime) -> None:
    with registry.transaction() as conn:
        keys = create_demo_organisations(conn, now=NOW)
        tacs = load_tac_database(
            conn, sample(TAC_SAMPLE), now=NOW, rules=registry.rules, loaded_by="t"
        )
    assert set(keys) == set(DEMO_ORGANISATIONS) and len(set(keys.values())) == len(keys)
    assert not tacs.errors
    rules = registry.rules
    with registry.transaction() as conn:
        registered = register_devices(
            conn,
            sample("registrations_sample.csv"),
            organisation="IMP-TECHNODOM",
            now=NOW,
            rules=rules,
            bad_row_threshold=0.0,
        )
        repaired = load_repairs(
            conn, sample("repairs_sample.csv"), organisation="SC-ALMATY", now=NOW, rules=rules
        )
        reported = load_police_reports(
            conn,
            sample("police_sample.csv"),
            now=NOW,
            rules=rules,
            loaded_by="t",
            organisation="POLICE",
        )
    for report in (registered, repaired, reported):
        assert not report.errors and not report.refused, report.as_dict()
    assert registered.counts["imeis_registered"] == len(rows("registrations_sample.csv"))
    repair = rows("repairs_sample.csv")[0]
    assert listed(registry, repair["new_imei"])[0] == "white"
    assert "RETIRED_IMEI" in listed(registry, repair["old_imei"])[1]
    stolen, recovered = rows("police_sample.csv")[0]["imei"], rows("police_sample.csv")[3]["imei"]
    assert listed(registry, stolen) == ("black", ("REPORTED_STOLEN",))
    assert listed(registry, recovered) == ("white", ("TRUSTED_SOURCE",))
