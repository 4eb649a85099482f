"""`tizim demo`: a synthetic country to explore — models, three operators, ~100k IMEIs.

Everything is made with a seeded random generator, so two demos are the same country. The
initial lists are computed a week before `now` and the sweep then runs at `now`, so the demo
shows the cut-off of everyone whose grace period ended in the last week.

The sample TAC file is loaded through the real feed loader and the organisations are made
through the real service, so the demo exercises the same paths as production; their first
API keys come back in the result, for the CLI to print once (a demo convenience: a real
organisation's key is given to that organisation only).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import Connection, delete, insert, true

from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.domain.status import ListName
from tizim.services.facts import FactKind
from tizim.services.gsma_feeds import load_tac_database
from tizim.services.imei_reading import luhn_check_digit
from tizim.services.orgs import Role, create_organisation
from tizim.services.sweep import SweepResult, sweep
from tizim.storage.refresh import refresh_statuses
from tizim.storage.schema import devices, imei_facts, imeis, metadata, sightings

OPERATORS = {"KCELL": "40102", "BEELINE": "40101", "TELE2": "40177"}
DEMO_IMPORTERS = ("IMP-TECHNODOM", "IMP-SULPAK", "MFR-ALMATY")
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
TAC_SAMPLE = "tac_sample.csv"
# code → (role, display name, MCC-MNC codes): every role of the registry once at least.
DEMO_ORGANISATIONS: dict[str, tuple[Role, str, tuple[str, ...]]] = {
    **{code: (Role.OPERATOR, code.title(), (mcc_mnc,)) for code, mcc_mnc in OPERATORS.items()},
    "IMP-TECHNODOM": (Role.IMPORTER, "Technodom (importer)", ()),
    "IMP-SULPAK": (Role.IMPORTER, "Sulpak (importer)", ()),
    "MFR-ALMATY": (Role.MANUFACTURER, "Almaty device plant", ()),
    "SC-ALMATY": (Role.SERVICE_CENTRE, "Almaty authorised service centre", ()),
    "POLICE": (Role.POLICE, "Ministry of Internal Affairs", ()),
    "REGISTRY": (Role.REGISTRY_STAFF, "Registry staff", ()),
    "PROVIDER-EGOV": (Role.VERIFICATION_PROVIDER, "eGov verification service", ()),
}


@dataclass(frozen=True)
class TacModel:
    tac: str
    brand: str
    model: str
    device_type: str
    sim_slots: int


@dataclass(frozen=True)
class DemoResult:
    devices: int
    imeis: int
    initial_at: datetime
    sweep: SweepResult
    api_keys: dict[str, str] = field(default_factory=dict)  # organisation code → key in clear


def sample_tacs() -> list[TacModel]:
    text = resources.files("tizim.data").joinpath(TAC_SAMPLE).read_text("utf-8")
    return [
        TacModel(r["tac"], r["brand"], r["model"], r["device_type"], int(r["sim_slots"]))
        for r in csv.DictReader(text.splitlines())
    ]


def clear_registry(conn: Connection) -> None:
    """Empty every table (demo --fresh): the schema stays."""
    for table in reversed(metadata.sorted_tables):
        conn.execute(delete(table))


def build_demo_country(
    conn: Connection, *, now: datetime, rules: Rules, devices_wanted: int = 52_000, seed: int = 7
) -> DemoResult:
    rng = random.Random(seed)
    models = sample_tacs()
    with resources.as_file(resources.files("tizim.data").joinpath(TAC_SAMPLE)) as tac_file:
        load_tac_database(conn, tac_file, now=now, rules=rules, loaded_by="demo")
    api_keys = create_demo_organisations(conn, now=now)
    builder = _CountryBuilder(rng, models, now)
    for device_id in range(1, devices_wanted + 1):
        builder.add_device(device_id)
    for table, rows in (
        (devices, builder.devices),
        (imeis, builder.imeis),
        (sightings, builder.sightings),
        (imei_facts, builder.facts),
    ):
        for start in range(0, len(rows), 20_000):
            conn.execute(insert(table), rows[start : start + 20_000])
    initial_at = now - timedelta(days=7)
    refresh_statuses(conn, true(), now=initial_at, rules=rules, source="demo")
    result = sweep(conn, now=now, rules=rules)
    return DemoResult(len(builder.devices), len(builder.imeis), initial_at, result, api_keys)


def create_demo_organisations(conn: Connection, *, now: datetime) -> dict[str, str]:
    """The demo's organisations (every role), through the real service; returns their keys."""
    keys: dict[str, str] = {}
    for code, (role, name, mcc_mncs) in DEMO_ORGANISATIONS.items():
        keys[code] = create_organisation(
            conn, code=code, role=role, name=name, mcc_mncs=mcc_mncs, now=now
        )[1]
    return keys


class _CountryBuilder:
    """Rows of a synthetic country, made in memory and inserted in bulk."""

    def __init__(self, rng: random.Random, models: list[TacModel], now: datetime) -> None:
        self.rng = rng
        self.models = models
        self.weights = [1.0 / (1 + i % 7) for i in range(len(models))]
        self.now = now
        self.span = (now - YEAR_START).total_seconds()
        self.devices: list[dict[str, Any]] = []
        self.imeis: list[dict[str, Any]] = []
        self.sightings: list[dict[str, Any]] = []
        self.facts: list[dict[str, Any]] = []
        self.serials: set[str] = set()

    def add_device(self, device_id: int) -> None:
        rng = self.rng
        model = rng.choices(self.models, self.weights)[0]
        self.devices.append(
            {"id": device_id, "brand": model.brand, "model": model.model, "created_at": self.now}
        )
        first_seen = self._first_seen()
        fate = rng.random()
        operator = rng.choice(list(OPERATORS))
        msisdn = "77" + rng.choice("0145678") + "".join(rng.choices("0123456789", k=7))
        imsi = OPERATORS[operator] + "".join(rng.choices("0123456789", k=10))
        for slot in range(model.sim_slots):
            imei = self._new_imei(model.tac, invalid=fate > 0.997 and slot == 0)
            row = self._imei_row(imei, device_id, first_seen)
            if fate < 0.55:
                row["trusted_source"] = True
                self._fact(
                    imei, FactKind.TRUSTED_REGISTRATION, rng.choice(DEMO_IMPORTERS), first_seen
                )
            elif fate < 0.63:
                row["verified"] = True
                self._fact(imei, FactKind.VERIFICATION_APPROVED, "PROVIDER-EGOV", first_seen)
            if 0.70 < fate < 0.706:
                row["reported_stolen"] = True
                self._fact(imei, FactKind.STOLEN_REPORTED, "POLICE", self.now - timedelta(days=3))
            self.imeis.append(row)
            if slot == 0 or rng.random() < 0.8:
                self.sightings.append(
                    {
                        "imei": imei,
                        "operator": operator,
                        "imsi": imsi,
                        "msisdn": msisdn,
                        "first_seen_at": first_seen,
                        "last_seen_at": self.now - timedelta(hours=rng.randint(1, 200)),
                    }
                )

    def _first_seen(self) -> datetime:
        # A third of the country arrives in the last 60 days, so grey and fresh blocks exist.
        if self.rng.random() < 0.33:
            return self.now - timedelta(seconds=self.rng.uniform(3600, 60 * 86400))
        return YEAR_START + timedelta(seconds=self.rng.uniform(0, self.span))

    def _new_imei(self, tac: str, *, invalid: bool) -> str:
        while True:
            body = tac + "".join(self.rng.choices("0123456789", k=6))
            if body not in self.serials:
                self.serials.add(body)
                break
        digit = luhn_check_digit(body)
        if invalid:
            digit = str((int(digit) + 1 + self.rng.randint(0, 8)) % 10)
        return body + digit

    def _imei_row(self, imei: str, device_id: int, first_seen: datetime) -> dict[str, Any]:
        invalid = imei[14] != luhn_check_digit(imei[:14])
        return {
            "imei": imei,
            "device_id": device_id,
            "invalid_reason": Reason.INVALID_CHECK_DIGIT.value if invalid else None,
            "first_seen_at": first_seen,
            "last_seen_at": self.now - timedelta(hours=1),
            "trusted_source": False,
            "verified": False,
            "paired": False,
            "gsma_blacklisted": False,
            "reported_stolen": False,
            "clone_suspected": False,
            "list": ListName.UNKNOWN.value,
            "reasons": Reason.NOT_SEEN.value,
            "list_since": first_seen,
        }

    def _fact(self, imei: str, kind: FactKind, source: str, at: datetime) -> None:
        self.facts.append(
            {
                "imei": imei,
                "kind": kind.value,
                "source": source,
                "reference": None,
                "occurred_at": at,
                "recorded_at": at,
            }
        )
