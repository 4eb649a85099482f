"""A small registry for portal tests: white, grey and black phones, owners with customs
declarations, an application waiting for staff, and a staff account.

Everything goes in through the real services (facts, feed loaders, application submission);
nothing is written into tables behind their back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.interfaces.application_helpers import (
    TAC_DUAL,
    TAC_OTHER,
    load_tacs,
    make_iin,
    make_imei,
)
from tizim.adapters.payments import ReferencePaymentGateway
from tizim.adapters.reference_state import reference_registries, set_registry_available
from tizim.eds_test_ca import issue_test_certificate, sign_body
from tizim.runtime import Runtime
from tizim.services.applications import ApplicationPolicy, pay_application, submit_application
from tizim.services.facts import Fact, FactKind, record_facts, record_sighting
from tizim.services.staff_users import create_staff_user
from tizim.services.state_feeds import load_customs

NOW = datetime(2025, 11, 20, 5, 0, tzinfo=UTC)  # Thursday 20 November 2025, 10:00 in Almaty
STAFF_USER, STAFF_PASSWORD = "aigerim", "correct horse battery staple"
LANGS = ("kk", "ru", "en")


@dataclass(frozen=True)
class Owner:
    iin: str
    imeis: tuple[str, str]
    declaration: str


@dataclass
class World:
    white: str
    grey: str
    black: str
    owners: dict[str, Owner] = field(default_factory=dict)
    queued: str = ""


def build_world(registry: Runtime, tmp_path: Path) -> World:
    rules = registry.rules
    world = World(
        white=make_imei(TAC_OTHER, 1), grey=make_imei(TAC_OTHER, 2), black=make_imei(TAC_OTHER, 3)
    )
    for index, lang in enumerate((*LANGS, "queued")):
        iin = make_iin(serial=100 + index * 10)
        imeis = (make_imei(TAC_DUAL, 100 + 2 * index), make_imei(TAC_DUAL, 101 + 2 * index))
        world.owners[lang] = Owner(iin, imeis, f"DCL-{lang.upper()}-0001")
    with registry.transaction() as conn:
        load_tacs(conn)
        create_staff_user(
            conn, username=STAFF_USER, password=STAFF_PASSWORD, display_name="Aigerim", now=NOW
        )
        record_facts(
            conn,
            [Fact(world.white, FactKind.TRUSTED_REGISTRATION, "importer", NOW)],
            now=NOW,
            rules=rules,
            source="importer",
        )
        record_facts(
            conn,
            [Fact(world.black, FactKind.GSMA_BLACKLIST_ADD, "gsma", NOW)],
            now=NOW,
            rules=rules,
            source="gsma",
        )
        seen = NOW - timedelta(days=10)
        for number, imei in enumerate(
            [world.grey, *(i for o in world.owners.values() for i in o.imeis)]
        ):
            record_sighting(
                conn,
                imei=imei,
                operator="KCELL",
                imsi=f"40102{number:010d}",
                msisdn=f"7701{number:07d}",
                seen_at=seen,
                now=seen,
                rules=rules,
            )
        customs = tmp_path / "customs.csv"
        customs.write_text(
            "declaration_number,declarant_iin,declared_on,imei\n"
            + "".join(
                f"{o.declaration},{o.iin},2025-11-05,{imei}\n"
                for o in world.owners.values()
                for imei in o.imeis
            ),
            encoding="utf-8",
        )
        load_customs(conn, customs, now=NOW, rules=rules, loaded_by="test")
    world.queued = _queued_application(registry, world.owners["queued"])
    return world


def _queued_application(registry: Runtime, owner: Owner) -> str:
    """An application the checks could not decide (customs unavailable): the staff queue."""
    rules = registry.rules
    body = {
        "applicant_iin": owner.iin,
        "imeis": list(owner.imeis),
        "proof": {"kind": "customs", "declaration_number": owner.declaration},
    }
    issued = issue_test_certificate(owner.iin, now=NOW)
    with registry.transaction() as conn:
        set_registry_available(conn, "customs", available=False, now=NOW)
        registries = reference_registries(conn, rules)
        number = submit_application(
            conn,
            body,
            sign_body(body, issued.key_pem),
            issued.certificate_pem,
            provider=None,
            language="kk",
            now=NOW,
            rules=rules,
            policy=ApplicationPolicy.from_settings(registry.settings),
            registries=registries,
        )
        pay_application(
            conn,
            number,
            gateway=ReferencePaymentGateway(conn),
            now=NOW,
            rules=rules,
            registries=registries,
            actor="applicant",
        )
        set_registry_available(conn, "customs", available=True, now=NOW)
    return number
