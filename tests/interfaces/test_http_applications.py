"""Owner applications over the real HTTP API, on SQLite and PostgreSQL: each proof accepted and
refused, the fee per year, free re-submission, black → white on approval, the pre-check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.interfaces.application_helpers import (
    NOW,
    TAC_DUAL,
    Api,
    load_state_data,
    make_imei,
    person,
    serving_api,
    verification_body,
)
from tizim.i18n import LANGUAGES
from tizim.runtime import Runtime
from tizim.services.facts import record_sighting


@pytest.fixture
def api(registry: Runtime) -> Iterator[Api]:
    with serving_api(registry) as serving:
        yield serving


def assert_reasons(response: httpx.Response, *codes: str) -> list[dict[str, Any]]:
    reasons = response.json()["reasons"]
    assert sorted({r["code"] for r in reasons}) == sorted(set(codes)), reasons
    for reason in reasons:
        for lang in LANGUAGES:
            message = reason["messages"][lang]
            assert message and message != reason["code"] and "{" not in message
    return reasons


DEVICE = [make_imei(TAC_DUAL, 1), make_imei(TAC_DUAL, 2)]


def test_customs_declaration_approves_the_device_and_every_imei_turns_white(
    api: Api, tmp_path: Path
) -> None:
    owner = person(1)
    load_state_data(
        api.registry, tmp_path, customs=[f"DT-1,{owner.iin},2025-08-20,{imei}" for imei in DEVICE]
    )
    submitted = api.submit(
        owner,
        verification_body(owner.iin, DEVICE, {"kind": "customs", "declaration_number": "DT-1"}),
    )
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["status"] == "awaiting_payment"
    assert submitted.json()["fee_kzt"] == 3932
    assert submitted.json()["number"] == "KZ-2025-000001"
    paid = api.post(f"/api/v1/applications/{submitted.json()['number']}/payments", {})
    assert paid.json()["status"] == "approved"
    assert paid.json()["paid_kzt"] == 3932
    assert [h["status"] for h in paid.json()["history"]] == ["awaiting_payment", "paid", "approved"]
    for imei in DEVICE:
        assert api.imei_list(imei)["list"] == "white"
        assert "VERIFIED" in api.imei_list(imei)["reasons"]


def test_customs_declaration_of_someone_else_without_the_imeis_is_refused_with_reasons(
    api: Api, tmp_path: Path
) -> None:
    owner, other = person(1), person(2)
    load_state_data(api.registry, tmp_path, customs=[f"DT-2,{other.iin},2025-08-20,{DEVICE[0]}"])
    decided = api.submit_and_pay(
        owner,
        verification_body(owner.iin, DEVICE, {"kind": "customs", "declaration_number": "DT-2"}),
    )
    assert decided["status"] == "refused"
    reasons = decided["reasons"]
    assert {r["code"] for r in reasons} == {
        "CUSTOMS_DECLARANT_MISMATCH",
        "CUSTOMS_IMEI_NOT_DECLARED",
    }
    missing = next(r for r in reasons if r["code"] == "CUSTOMS_IMEI_NOT_DECLARED")
    assert missing["field"] == "imeis[1]" and DEVICE[1] in missing["messages"]["ru"]
    assert api.imei_list(DEVICE[0])["list"] != "white"


def test_unknown_declaration_is_refused(api: Api) -> None:
    owner = person(1)
    decided = api.submit_and_pay(
        owner,
        verification_body(owner.iin, DEVICE, {"kind": "customs", "declaration_number": "NOPE"}),
    )
    assert decided["status"] == "refused"
    assert [r["code"] for r in decided["reasons"]] == ["CUSTOMS_DECLARATION_NOT_FOUND"]


def test_border_entry_on_the_stated_day_approves(api: Api, tmp_path: Path) -> None:
    owner = person(1)
    load_state_data(
        api.registry, tmp_path, border=[f"{owner.iin},2025-08-25T14:30:00,entry,Khorgos"]
    )
    decided = api.submit_and_pay(
        owner, verification_body(owner.iin, DEVICE, {"kind": "border", "entry_date": "2025-08-25"})
    )
    assert decided["status"] == "approved", decided["reasons"]


def test_border_proof_refused_without_an_entry_that_day_or_when_seen_earlier(
    api: Api, tmp_path: Path
) -> None:
    owner = person(1)
    load_state_data(
        api.registry, tmp_path, border=[f"{owner.iin},2025-08-25T14:30:00,exit,Khorgos"]
    )
    with api.registry.transaction() as conn:
        record_sighting(
            conn,
            imei=DEVICE[0],
            operator="op",
            imsi="401010000000001",
            msisdn="77010000001",
            seen_at=NOW - timedelta(days=20),
            now=NOW,
            rules=api.registry.rules,
        )
    decided = api.submit_and_pay(
        owner, verification_body(owner.iin, DEVICE, {"kind": "border", "entry_date": "2025-08-25"})
    )
    assert decided["status"] == "refused"
    codes = {r["code"]: r for r in decided["reasons"]}
    assert set(codes) == {"BORDER_ENTRY_NOT_FOUND", "BORDER_DEVICE_SEEN_BEFORE_ENTRY"}
    assert codes["BORDER_DEVICE_SEEN_BEFORE_ENTRY"]["field"] == "imeis[0]"


def test_parcel_delivered_to_the_applicant_with_a_phone_approves(api: Api, tmp_path: Path) -> None:
    owner = person(1)
    load_state_data(
        api.registry,
        tmp_path,
        parcels=[f"KZ123,{owner.iin},2025-08-28,Смартфон Samsung Galaxy A55"],
    )
    decided = api.submit_and_pay(
        owner, verification_body(owner.iin, DEVICE, {"kind": "parcel", "tracking_number": "KZ123"})
    )
    assert decided["status"] == "approved", decided["reasons"]


def test_parcel_of_someone_else_without_a_phone_is_refused(api: Api, tmp_path: Path) -> None:
    owner, other = person(1), person(2)
    load_state_data(
        api.registry, tmp_path, parcels=[f"KZ9,{other.iin},2025-08-28,Books and a scarf"]
    )
    decided = api.submit_and_pay(
        owner, verification_body(owner.iin, DEVICE, {"kind": "parcel", "tracking_number": "KZ9"})
    )
    assert {r["code"] for r in decided["reasons"]} == {
        "PARCEL_RECIPIENT_MISMATCH",
        "PARCEL_NOT_A_PHONE",
    }


def test_a_black_device_turns_white_on_approval(api: Api, tmp_path: Path) -> None:
    owner = person(1)
    imei = make_imei(TAC_DUAL, 77)
    with api.registry.transaction() as conn:
        record_sighting(
            conn,
            imei=imei,
            operator="op",
            imsi="401010000000002",
            msisdn="77010000002",
            seen_at=NOW - timedelta(days=60),
            now=NOW,
            rules=api.registry.rules,
        )
    assert api.imei_list(imei)["list"] == "black"
    load_state_data(api.registry, tmp_path, customs=[f"DT-9,{owner.iin},2025-07-01,{imei}"])
    decided = api.submit_and_pay(
        owner,
        verification_body(owner.iin, [imei], {"kind": "customs", "declaration_number": "DT-9"}),
    )
    assert decided["status"] == "approved"
    assert api.imei_list(imei)["list"] == "white"


def test_the_fee_is_the_mrp_of_the_year_of_submission(api: Api) -> None:
    owner = person(1, now=NOW + timedelta(days=200))
    api.clock.set(NOW + timedelta(days=200))  # 2026-03-20
    submitted = api.submit(
        owner, verification_body(owner.iin, DEVICE, {"kind": "customs", "declaration_number": "X"})
    )
    assert submitted.json()["fee_kzt"] == 4325
    assert submitted.json()["number"].startswith("KZ-2026-")


def test_a_corrected_resubmission_within_30_days_is_free_and_later_it_is_not(
    api: Api, tmp_path: Path
) -> None:
    owner = person(1)
    refused = api.submit_and_pay(
        owner,
        verification_body(owner.iin, DEVICE, {"kind": "customs", "declaration_number": "TYPO"}),
    )
    assert refused["status"] == "refused"
    load_state_data(
        api.registry, tmp_path, customs=[f"DT-5,{owner.iin},2025-08-20,{imei}" for imei in DEVICE]
    )
    api.clock.set(NOW + timedelta(days=10))
    body = verification_body(
        owner.iin,
        DEVICE,
        {"kind": "customs", "declaration_number": "DT-5"},
        resubmission_of=refused["number"],
    )
    again = api.submit(owner, body)
    assert again.status_code == 201, again.text
    assert again.json()["fee_kzt"] == 0 and again.json()["status"] == "approved"
    twice = api.submit(owner, body)
    assert twice.status_code == 422
    assert_reasons(twice, "RESUBMISSION_NOT_ALLOWED")


def test_resubmission_after_the_free_period_is_not_free(api: Api) -> None:
    owner = person(1)
    refused = api.submit_and_pay(
        owner,
        verification_body(owner.iin, DEVICE, {"kind": "customs", "declaration_number": "TYPO"}),
    )
    api.clock.set(NOW + timedelta(days=31))
    late = api.submit(
        owner,
        verification_body(
            owner.iin,
            DEVICE,
            {"kind": "customs", "declaration_number": "TYPO"},
            resubmission_of=refused["number"],
        ),
    )
    assert late.status_code == 422
    assert_reasons(late, "RESUBMISSION_NOT_ALLOWED")


def test_precheck_gives_the_same_reasons_and_stores_nothing(api: Api) -> None:
    owner = person(1)
    body = verification_body(
        owner.iin, [DEVICE[0], "12345"], {"kind": "customs", "declaration_number": "NOPE"}
    )
    checked = api.post("/api/v1/applications/precheck", owner.sign(body), lang="ru")
    assert checked.status_code == 200
    assert checked.json()["acceptable"] is False and checked.json()["fee_kzt"] == 3932
    reasons = assert_reasons(checked, "IMEI_INVALID_FORMAT", "CUSTOMS_DECLARATION_NOT_FOUND")
    assert all(r["message"] == r["messages"]["ru"] for r in reasons)
    assert api.get("/api/v1/applications", who="staff", status="").json() == []
