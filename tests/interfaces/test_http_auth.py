"""Role enforcement and uploads over real HTTP, with real API keys, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.services.feeds_support import imei
from tests.support.servers import ApiServer, api_server
from tizim.runtime import Runtime
from tizim.services.orgs import Role

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 3, 1, 12, tzinfo=ALMATY)
REGISTRATION = "device_ref,imei,brand,model,document,registered_on\nD1,{imei},A,B,DT-1,2026-02-01\n"


ORGANISATIONS = (
    ("STAFF", Role.REGISTRY_STAFF),
    ("IMP-A", Role.IMPORTER),
    ("IMP-B", Role.IMPORTER),
    ("SC-1", Role.SERVICE_CENTRE),
    ("POLICE", Role.POLICE),
    ("KCELL", Role.OPERATOR),
)


@pytest.fixture
def server(registry: Runtime) -> Iterator[ApiServer]:
    with api_server(registry, NOW, ORGANISATIONS) as running:
        yield running


def test_no_key_bad_key_and_revoked_key_are_401(server: ApiServer) -> None:
    missing = server.call("GET", "/api/v1/me")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.headers["content-type"].startswith("application/problem+json")
    server.keys["FORGED"] = server.keys["IMP-A"][:-2] + "xx"
    assert server.call("GET", "/api/v1/me", "FORGED").status_code == 401
    assert server.call("GET", "/api/v1/me", "IMP-A").json()["code"] == "IMP-A"
    public_id = server.keys["IMP-A"].split("_")[1]
    assert server.call("DELETE", f"/api/v1/api-keys/{public_id}", "STAFF").status_code == 200
    assert server.call("GET", "/api/v1/me", "IMP-A").status_code == 401


def test_x_api_key_header_is_accepted(server: ApiServer) -> None:
    answer = httpx.get(f"{server.base}/api/v1/me", headers={"X-API-Key": server.keys["SC-1"]})
    assert answer.json()["role"] == "service_centre"


def test_wrong_roles_are_403(server: ApiServer) -> None:
    csv = "imei,action,case_number,reported_at\n"
    assert server.call("POST", "/api/v1/police-reports", "IMP-A", content=csv).status_code == 403
    assert server.call("GET", "/api/v1/organisations", "IMP-A").status_code == 403
    assert server.call("POST", "/api/v1/feeds/tac", "KCELL", content="x").status_code == 403
    assert server.call("POST", "/api/v1/registrations", "POLICE", content="x").status_code == 403
    assert server.call("GET", "/api/v1/operator-lists/latest", "IMP-A").status_code == 403
    denied = server.call("POST", "/api/v1/repairs", "IMP-A", content="x")
    assert denied.headers["content-type"].startswith("application/problem+json")


def test_an_importer_registers_over_http_and_only_it_sees_the_report(server: ApiServer) -> None:
    value = imei("35033332", 77)
    sent = server.call(
        "POST", "/api/v1/registrations", "IMP-A", content=REGISTRATION.format(imei=value)
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["counts"]["imeis_registered"] == 1
    assert httpx.get(f"{server.base}/api/v1/imeis/{value}").json()["list"] == "white"
    upload = sent.json()["upload_id"]
    assert server.call("GET", f"/api/v1/uploads/{upload}", "IMP-A").status_code == 200
    assert server.call("GET", f"/api/v1/uploads/{upload}", "IMP-B").status_code == 404
    assert server.call("GET", f"/api/v1/uploads/{upload}", "STAFF").status_code == 200
    again = server.call(
        "POST", "/api/v1/registrations", "IMP-A", content=REGISTRATION.format(imei=value)
    )
    assert again.status_code == 200 and again.json()["duplicate_of"] == upload


def test_a_refused_upload_is_a_422_problem_with_its_report(server: ApiServer) -> None:
    answer = server.call("POST", "/api/v1/registrations", "IMP-B", content="device_ref\nX\n")
    assert answer.status_code == 422
    assert answer.json()["report"]["refused"] is True


def test_staff_create_organisations_and_police_report_over_http(server: ApiServer) -> None:
    created = server.call(
        "POST",
        "/api/v1/organisations",
        "STAFF",
        json={"code": "TELE2", "role": "operator", "mcc_mncs": ["401-77"]},
    )
    assert created.status_code == 201 and created.json()["organisation"]["mcc_mncs"] == ["40177"]
    server.keys["TELE2"] = created.json()["api_key"]
    assert server.call("GET", "/api/v1/me", "TELE2").json()["code"] == "TELE2"
    value = imei("35033332", 78)
    report = "imei,action,case_number,reported_at\n" + f"{value},add,KZ-5,2026-02-01\n"
    assert (
        server.call("POST", "/api/v1/police-reports", "POLICE", content=report).status_code == 201
    )
    check = httpx.get(f"{server.base}/api/v1/imeis/{value}").json()
    assert (check["list"], check["reasons"]) == ("black", ["REPORTED_STOLEN"])
