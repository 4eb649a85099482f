"""Registration conflicts over real HTTP with real API keys, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.services.feeds_support import DUAL_TAC, imei
from tests.support.servers import ApiServer, api_server
from tizim.runtime import Runtime
from tizim.services.orgs import Role

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 3, 1, 12, tzinfo=ALMATY)
PHONE = imei(DUAL_TAC, 7)
REGISTRATION = (
    "device_ref,imei,brand,model,document,registered_on\n{ref},{imei},A,B,DT,2026-02-01\n"
)


ORGANISATIONS = (
    ("STAFF", Role.REGISTRY_STAFF),
    ("IMP-A", Role.IMPORTER),
    ("IMP-B", Role.IMPORTER),
    ("POLICE", Role.POLICE),
    ("KCELL", Role.OPERATOR),
)


@pytest.fixture
def server(registry: Runtime) -> Iterator[ApiServer]:
    with api_server(registry, NOW, ORGANISATIONS) as running:
        yield running


@pytest.fixture
def conflict_id(server: ApiServer) -> int:
    """IMP-A registers PHONE over HTTP, then IMP-B claims it too."""
    for org, ref in (("IMP-A", "D1"), ("IMP-B", "X1")):
        body = REGISTRATION.format(ref=ref, imei=PHONE)
        answer = server.call("POST", "/api/v1/registrations", org, content=body)
        assert answer.status_code == 201, answer.text
    (conflict,) = server.call("GET", "/api/v1/registration-conflicts", "STAFF").json()
    assert (conflict["organisation"], conflict["registered_organisation"]) == ("IMP-B", "IMP-A")
    return int(conflict["id"])


def resolution_path(conflict_id: int) -> str:
    return f"/api/v1/registration-conflicts/{conflict_id}/resolution"


def test_staff_transfer_a_registration_and_the_imei_history_shows_it(
    server: ApiServer, conflict_id: int
) -> None:
    body = {"resolution": "transfer", "note": "IMP-B showed the customs declaration"}
    answer = server.call("POST", resolution_path(conflict_id), "STAFF", json=body)
    assert answer.status_code == 200, answer.text
    resolved = answer.json()
    assert resolved["id"] == conflict_id
    assert (resolved["resolution"], resolved["resolved_by"]) == ("transfer", "STAFF")
    assert resolved["resolution_note"] == body["note"]
    assert resolved["registered_organisation"] == "IMP-B"
    assert resolved["resolved_at"] is not None
    assert server.call("GET", "/api/v1/registration-conflicts", "STAFF").json() == []
    listed = server.call("GET", "/api/v1/registration-conflicts?state=resolved", "STAFF").json()
    assert [c["id"] for c in listed] == [conflict_id]
    every = server.call("GET", "/api/v1/registration-conflicts?state=all", "STAFF").json()
    assert [c["resolution"] for c in every] == ["transfer"]
    assert server.call("GET", f"/api/v1/imeis/{PHONE}").json()["list"] == "white"


def test_keep_existing_is_answered_and_a_second_resolution_is_409(
    server: ApiServer, conflict_id: int
) -> None:
    body = {"resolution": "keep_existing", "note": "IMP-A imported it first"}
    first = server.call("POST", resolution_path(conflict_id), "STAFF", json=body)
    assert first.status_code == 200 and first.json()["registered_organisation"] == "IMP-A"
    again = server.call(
        "POST", resolution_path(conflict_id), "STAFF", json={"resolution": "transfer", "note": "x"}
    )
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert "already resolved" in again.json()["title"]


def test_only_staff_may_resolve_and_list(server: ApiServer, conflict_id: int) -> None:
    body = {"resolution": "transfer", "note": "please"}
    for who in ("IMP-A", "IMP-B", "KCELL", "POLICE"):
        denied = server.call("POST", resolution_path(conflict_id), who, json=body)
        assert denied.status_code == 403, who
        assert denied.headers["content-type"].startswith("application/problem+json")
        assert server.call("GET", "/api/v1/registration-conflicts", who).status_code == 403
    anonymous = server.call("POST", resolution_path(conflict_id), json=body)
    assert anonymous.status_code == 401
    assert server.call("GET", "/api/v1/registration-conflicts").status_code == 401
    # Nothing of the refused calls was applied: the conflict is still open.
    (still_open,) = server.call("GET", "/api/v1/registration-conflicts", "STAFF").json()
    assert still_open["id"] == conflict_id and still_open["resolved_at"] is None


def test_unknown_ids_and_bad_bodies_are_problems(server: ApiServer, conflict_id: int) -> None:
    body = {"resolution": "keep_existing", "note": "no such conflict"}
    missing = server.call("POST", resolution_path(conflict_id + 1000), "STAFF", json=body)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["title"] == f"no registration conflict {conflict_id + 1000}"
    for bad in (
        {"resolution": "delete", "note": "x"},
        {"resolution": "transfer"},
        {"resolution": "transfer", "note": ""},
        {"resolution": "transfer", "note": "   "},
    ):
        answer = server.call("POST", resolution_path(conflict_id), "STAFF", json=bad)
        assert answer.status_code == 422, bad
    bad_state = server.call("GET", "/api/v1/registration-conflicts?state=closed", "STAFF")
    assert bad_state.status_code == 422
