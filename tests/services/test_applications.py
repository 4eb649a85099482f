"""The application services on both databases: nothing happens before payment, the pre-check
stores nothing, one open application per IMEI, numbering per year, stolen devices refused."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from tests.interfaces.application_helpers import (
    NOW,
    TAC_DUAL,
    Person,
    load_state_data,
    load_tacs,
    make_imei,
    person,
    verification_body,
)
from tizim.adapters.payments import ReferencePaymentGateway, amount_paid
from tizim.adapters.reference_state import reference_registries
from tizim.runtime import Runtime
from tizim.services.applications import (
    ApplicationPolicy,
    ApplicationRejected,
    application_view,
    next_number,
    pay_application,
    precheck_application,
    submit_application,
)
from tizim.services.decisions import ApplicationStateError
from tizim.services.facts import Fact, FactKind, record_facts
from tizim.storage.schema import imeis
from tizim.storage.tables_applications import applications, payments

IMEI = make_imei(TAC_DUAL, 40)
CUSTOMS = {"kind": "customs", "declaration_number": "DT-1"}


def _submit(conn: Connection, registry: Runtime, owner: Person, body: dict[str, Any]) -> str:
    signed = owner.sign(body)
    return submit_application(
        conn,
        signed["body"],
        signed["signature"],
        signed["certificate"],
        provider="p1",
        language="ru",
        now=NOW,
        rules=registry.rules,
        policy=ApplicationPolicy.from_settings(registry.settings),
        registries=reference_registries(conn, registry.rules),
    )


def _pay(conn: Connection, registry: Runtime, number: str) -> None:
    pay_application(
        conn,
        number,
        gateway=ReferencePaymentGateway(conn),
        now=NOW,
        rules=registry.rules,
        registries=reference_registries(conn, registry.rules),
        actor="test",
    )


@pytest.fixture
def owner(registry: Runtime, tmp_path: Path) -> Person:
    applicant = person(1)
    with registry.transaction() as conn:
        load_tacs(conn)
    load_state_data(registry, tmp_path, customs=[f"DT-1,{applicant.iin},2025-08-20,{IMEI}"])
    return applicant


def test_precheck_stores_and_charges_nothing(registry: Runtime, owner: Person) -> None:
    signed = owner.sign(verification_body(owner.iin, [IMEI], CUSTOMS))
    with registry.transaction() as conn:
        result = precheck_application(
            conn,
            signed["body"],
            signed["signature"],
            signed["certificate"],
            now=NOW,
            rules=registry.rules,
            policy=ApplicationPolicy.from_settings(registry.settings),
            registries=reference_registries(conn, registry.rules),
        )
        assert result.failures == [] and result.fee_kzt == 3932
        assert conn.execute(select(func.count()).select_from(applications)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(payments)).scalar() == 0
        assert conn.execute(select(imeis.c.verified).where(imeis.c.imei == IMEI)).scalar() is None


def test_nothing_is_decided_before_payment_and_paying_twice_is_refused(
    registry: Runtime, owner: Person
) -> None:
    with registry.transaction() as conn:
        number = _submit(conn, registry, owner, verification_body(owner.iin, [IMEI], CUSTOMS))
        assert conn.execute(select(imeis.c.verified).where(imeis.c.imei == IMEI)).scalar() is None
        _pay(conn, registry, number)
        view = application_view(conn, number, lang="kk", personal=False)
        assert view is not None and view["status"] == "approved" and "applicant_iin" not in view
        assert amount_paid(conn, conn.execute(select(applications.c.id)).scalar_one()) == 3932
        with pytest.raises(ApplicationStateError):
            _pay(conn, registry, number)


def test_one_open_application_per_imei(registry: Runtime, owner: Person) -> None:
    with registry.transaction() as conn:
        first = _submit(conn, registry, owner, verification_body(owner.iin, [IMEI], CUSTOMS))
        second = _submit(conn, registry, owner, verification_body(owner.iin, [IMEI], CUSTOMS))
        _pay(conn, registry, second)
        view = application_view(conn, second, lang="en", personal=True)
    assert view is not None and view["status"] == "refused"
    assert [(r["code"], r["params"]["number"]) for r in view["reasons"]] == [
        ("IMEI_APPLICATION_PENDING", first)
    ]


def test_a_stolen_device_is_refused_even_with_a_good_declaration(
    registry: Runtime, owner: Person
) -> None:
    with registry.transaction() as conn:
        record_facts(
            conn,
            [Fact(IMEI, FactKind.STOLEN_REPORTED, "police", NOW)],
            now=NOW,
            rules=registry.rules,
            source="police",
        )
        number = _submit(conn, registry, owner, verification_body(owner.iin, [IMEI], CUSTOMS))
        _pay(conn, registry, number)
        view = application_view(conn, number, lang="kk", personal=True)
    assert view is not None and [r["code"] for r in view["reasons"]] == ["IMEI_REPORTED_STOLEN"]


def test_an_invalid_iin_is_rejected_before_anything_is_stored(
    registry: Runtime, owner: Person
) -> None:
    with registry.transaction() as conn, pytest.raises(ApplicationRejected) as rejected:
        _submit(conn, registry, owner, verification_body("900101300018", [IMEI], CUSTOMS))
    assert "IIN_INVALID_CHECK_DIGIT" in {f.code.value for f in rejected.value.failures}


def test_numbers_count_per_year(registry: Runtime) -> None:
    with registry.transaction() as conn:
        assert [next_number(conn, 2025) for _ in range(3)] == [
            "KZ-2025-000001",
            "KZ-2025-000002",
            "KZ-2025-000003",
        ]
        assert next_number(conn, 2026) == "KZ-2026-000001"


def test_a_year_missing_from_the_fee_table_is_a_clear_error(
    registry: Runtime, owner: Person
) -> None:
    later = NOW + timedelta(days=365 * 6)
    signed = person(1, now=later).sign(verification_body(owner.iin, [IMEI], CUSTOMS))
    with (
        registry.transaction() as conn,
        pytest.raises(LookupError, match="no MRP configured for 2031"),
    ):
        submit_application(
            conn,
            signed["body"],
            signed["signature"],
            signed["certificate"],
            provider=None,
            language="en",
            now=later,
            rules=registry.rules,
            policy=ApplicationPolicy.from_settings(registry.settings),
            registries=reference_registries(conn, registry.rules),
        )
