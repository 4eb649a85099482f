"""Who proves what over HTTP: the EDS signature, the applicant's own view, other providers,
the staff queue when a state registry is down, and the second-IMEI pairing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.interfaces.application_helpers import (
    NOW,
    TAC_DUAL,
    TAC_OTHER,
    Api,
    Person,
    load_state_data,
    make_imei,
    person,
    serving_api,
    verification_body,
)
from tests.interfaces.test_http_applications import DEVICE, assert_reasons
from tizim.adapters.reference_state import set_registry_available
from tizim.eds_test_ca import create_ca, issue_test_certificate, sign_body
from tizim.runtime import Runtime
from tizim.services.facts import record_sighting

CUSTOMS = {"kind": "customs", "declaration_number": "DT-1"}


@pytest.fixture
def api(registry: Runtime) -> Iterator[Api]:
    with serving_api(registry) as serving:
        yield serving


def _approved_device(api: Api, owner: Person, tmp_path: Path, imeis: list[str]) -> dict[str, Any]:
    load_state_data(
        api.registry, tmp_path, customs=[f"DT-1,{owner.iin},2025-08-20,{i}" for i in imeis]
    )
    decided = api.submit_and_pay(owner, verification_body(owner.iin, imeis, CUSTOMS))
    assert decided["status"] == "approved", decided["reasons"]
    return decided


def _see(api: Api, imei: str, days_ago: int = 3) -> None:
    with api.registry.transaction() as conn:
        record_sighting(
            conn,
            imei=imei,
            operator="op",
            imsi="401010000000009",
            msisdn="77010000009",
            seen_at=NOW - timedelta(days=days_ago),
            now=NOW,
            rules=api.registry.rules,
        )


def test_a_body_changed_after_signing_is_rejected_and_not_stored(api: Api) -> None:
    owner = person(1)
    signed = owner.sign(verification_body(owner.iin, DEVICE, CUSTOMS))
    signed["body"]["imeis"] = [DEVICE[0]]
    answer = api.post("/api/v1/applications", signed, lang="en")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert_reasons(answer, "SIGNATURE_INVALID")
    assert api.get("/api/v1/applications", who="staff", status="").json() == []


def test_a_certificate_of_another_iin_is_rejected(api: Api) -> None:
    owner, other = person(1), person(2)
    body = verification_body(owner.iin, DEVICE, CUSTOMS)
    signed = {
        "body": body,
        "signature": sign_body(body, other.cert.key_pem),
        "certificate": other.cert.certificate_pem,
    }
    assert_reasons(api.post("/api/v1/applications", signed), "CERTIFICATE_IIN_MISMATCH")


def test_a_certificate_from_an_untrusted_ca_is_rejected(api: Api) -> None:
    owner = person(1)
    rogue = create_ca("Rogue CA", not_before=NOW - timedelta(days=1), days=30)
    cert = issue_test_certificate(owner.iin, now=NOW, ca=rogue)
    forged = Person(owner.iin, cert)
    answer = api.post(
        "/api/v1/applications", forged.sign(verification_body(owner.iin, DEVICE, CUSTOMS))
    )
    assert_reasons(answer, "CERTIFICATE_UNTRUSTED")


def test_an_rsa_signature_is_accepted(api: Api, tmp_path: Path) -> None:
    owner = person(1, key_kind="rsa")
    _approved_device(api, owner, tmp_path, DEVICE)


def test_only_the_submitting_provider_staff_and_the_signed_applicant_see_an_application(
    api: Api,
) -> None:
    owner, stranger = person(1), person(2)
    number = api.submit(owner, verification_body(owner.iin, DEVICE, CUSTOMS)).json()["number"]
    assert api.get(f"/api/v1/applications/{number}").json()["applicant_iin"] == owner.iin
    assert api.get(f"/api/v1/applications/{number}", who="staff").status_code == 200
    assert api.get(f"/api/v1/applications/{number}", who="provider2").status_code == 404
    assert api.get(f"/api/v1/applications/{number}", who="operator").status_code == 403
    assert api.client.get(f"/api/v1/applications/{number}").status_code == 401
    challenge = {"action": "view-application", "number": number, "date": "2025-09-01"}
    mine = api.post(
        f"/api/v1/applications/{number}/owner-view",
        {**owner.sign(challenge), "challenge": challenge},
        who="",
    )
    assert mine.status_code == 200 and mine.json()["status"] == "awaiting_payment"
    theirs = api.post(
        f"/api/v1/applications/{number}/owner-view",
        {**stranger.sign(challenge), "challenge": challenge},
        who="",
    )
    assert theirs.status_code == 404 and owner.iin not in theirs.text
    stale = {**challenge, "date": "2025-08-01"}
    assert (
        api.post(
            f"/api/v1/applications/{number}/owner-view",
            {**owner.sign(stale), "challenge": stale},
            who="",
        ).status_code
        == 404
    )


def test_an_unavailable_registry_queues_the_application_for_staff(api: Api, tmp_path: Path) -> None:
    owner = person(1)
    load_state_data(
        api.registry, tmp_path, customs=[f"DT-1,{owner.iin},2025-08-20,{i}" for i in DEVICE]
    )
    with api.registry.transaction() as conn:
        set_registry_available(
            conn, "customs", available=False, now=NOW, note="planned maintenance"
        )
    queued = api.submit_and_pay(owner, verification_body(owner.iin, DEVICE, CUSTOMS))
    assert queued["status"] == "in_review" and queued["reasons"] == []
    queue = api.get("/api/v1/applications", who="staff").json()
    assert [item["number"] for item in queue] == [queued["number"]]
    assert api.get("/api/v1/applications", who="provider").status_code == 403
    still_down = api.post(
        f"/api/v1/applications/{queued['number']}/decision", {"verdict": "recheck"}, who="staff"
    )
    assert still_down.json()["status"] == "in_review"
    with api.registry.transaction() as conn:
        set_registry_available(conn, "customs", available=True, now=NOW)
    rechecked = api.post(
        f"/api/v1/applications/{queued['number']}/decision", {"verdict": "recheck"}, who="staff"
    )
    assert rechecked.json()["status"] == "approved"
    assert api.imei_list(DEVICE[0])["list"] == "white"


def test_staff_refusal_carries_the_note_in_every_language(api: Api) -> None:
    owner = person(1)
    with api.registry.transaction() as conn:
        set_registry_available(conn, "customs", available=False, now=NOW)
    queued = api.submit_and_pay(owner, verification_body(owner.iin, DEVICE, CUSTOMS))
    refused = api.post(
        f"/api/v1/applications/{queued['number']}/decision",
        {"verdict": "refuse", "note": "declaration is a forgery"},
        who="staff",
    )
    reasons = assert_reasons(refused, "REFUSED_BY_STAFF")
    assert all("declaration is a forgery" in m for m in reasons[0]["messages"].values())


def test_pairing_adds_a_grey_second_imei_of_the_owners_device(api: Api, tmp_path: Path) -> None:
    owner = person(1)
    first, second = make_imei(TAC_DUAL, 10), make_imei(TAC_DUAL, 11)
    _approved_device(api, owner, tmp_path, [first])
    _see(api, second)
    assert api.imei_list(second)["list"] == "grey"
    body = {"type": "pairing", "applicant_iin": owner.iin, "device_imei": first, "imei": second}
    paired = api.post("/api/v1/applications/pairing", owner.sign(body))
    assert paired.status_code == 201 and paired.json()["status"] == "approved"
    assert paired.json()["fee_kzt"] == 0 and paired.json()["paid_kzt"] == 0
    assert api.imei_list(second)["list"] == "white" and "PAIRED" in api.imei_list(second)["reasons"]
    third = make_imei(TAC_DUAL, 12)
    _see(api, third)
    full = api.post("/api/v1/applications/pairing", owner.sign({**body, "imei": third}))
    assert_reasons(full, "PAIRING_SLOTS_EXCEEDED")


def test_pairing_is_refused_to_another_person_and_for_another_model(
    api: Api, tmp_path: Path
) -> None:
    owner, stranger = person(1), person(2)
    first = make_imei(TAC_DUAL, 20)
    _approved_device(api, owner, tmp_path, [first])
    foreign, same_model = make_imei(TAC_OTHER, 21), make_imei(TAC_DUAL, 22)
    _see(api, foreign)
    _see(api, same_model)
    body = {
        "type": "pairing",
        "applicant_iin": stranger.iin,
        "device_imei": first,
        "imei": same_model,
    }
    assert_reasons(
        api.post("/api/v1/applications/pairing", stranger.sign(body)), "PAIRING_NOT_OWNER"
    )
    body = {"type": "pairing", "applicant_iin": owner.iin, "device_imei": first, "imei": foreign}
    assert_reasons(
        api.post("/api/v1/applications/pairing", owner.sign(body)), "PAIRING_TAC_MISMATCH"
    )
    assert api.imei_list(foreign)["list"] == "grey"
