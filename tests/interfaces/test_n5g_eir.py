"""N5g-eir (TS 29.511) over real HTTP, answered from the status index."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.servers import running_http_server
from tizim.clock import FixedClock
from tizim.interfaces.http.app import create_app
from tizim.runtime import Runtime
from tizim.services.check import check_imei
from tizim.services.facts import Fact, FactKind, record_facts, record_sighting

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 1, 10, tzinfo=ALMATY)
WHITE, GREY, BLACK, NEW = "490154203237518", "356938035643809", "353879234252633", "356938035643817"
PATH = "/n5g-eir-eic/v1/equipment-status"


@pytest.fixture
def seeded(registry: Runtime) -> Runtime:
    rules = registry.rules
    with registry.transaction() as conn:
        record_facts(
            conn,
            [
                Fact(WHITE, FactKind.TRUSTED_REGISTRATION, "t", NOW),
                Fact(BLACK, FactKind.STOLEN_REPORTED, "police", NOW),
            ],
            now=NOW,
            rules=rules,
            source="test",
        )
        record_sighting(
            conn,
            imei=GREY,
            operator="KCELL",
            imsi="401021",
            msisdn="",
            seen_at=NOW,
            now=NOW,
            rules=rules,
        )
    return registry


def status(base: str, **params: str) -> httpx.Response:
    return httpx.get(base + PATH, params=params)


def test_known_equipment_answers_its_status(seeded: Runtime) -> None:
    clock = FixedClock(NOW)
    with running_http_server(create_app(seeded, clock)) as base:
        answers = {
            imei: status(base, pei=f"imei-{imei}").json()["status"] for imei in (WHITE, GREY, BLACK)
        }
        imeisv = status(base, pei=f"imeisv-{WHITE[:14]}07", supi="imsi-401021234567890")
        bad_check_digit = status(base, pei="imei-490154203237519")
        clock.set(datetime(2026, 2, 9, tzinfo=ALMATY))  # GREY's deadline: black before any sweep
        expired = status(base, pei=f"imei-{GREY}")
    assert answers == {WHITE: "WHITELISTED", GREY: "GREYLISTED", BLACK: "BLACKLISTED"}
    assert imeisv.status_code == 200 and imeisv.json() == {"status": "WHITELISTED"}
    assert bad_check_digit.json() == {"status": "BLACKLISTED"}
    assert expired.json() == {"status": "BLACKLISTED"}


def test_unknown_equipment_is_404_and_its_first_check_starts_the_grace_period(
    seeded: Runtime,
) -> None:
    with running_http_server(create_app(seeded, FixedClock(NOW))) as base:
        unknown = status(base, pei=f"imei-{NEW}", supi="imsi-401771234567890")
    # the server has stopped: its recorder has written the check as a sighting
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["cause"] == "ERROR_EQUIPMENT_UNKNOWN"
    with seeded.engine.connect() as conn:
        after = check_imei(conn, NEW, now=NOW, rules=seeded.rules)
    assert after.list.value == "grey" and after.grace_deadline == datetime(
        2026, 2, 9, tzinfo=ALMATY
    )


@pytest.mark.parametrize(
    ("params", "cause", "param"),
    [
        ({}, "MANDATORY_IE_MISSING", "pei"),
        ({"pei": "imei-4901542032375"}, "MANDATORY_IE_INCORRECT", "pei"),
        ({"pei": WHITE}, "MANDATORY_IE_INCORRECT", "pei"),
        ({"pei": "mac-00-11-22-33-44-55"}, "MANDATORY_IE_INCORRECT", "pei"),
        ({"pei": f"imei-{WHITE}", "supi": "imsi-40x"}, "OPTIONAL_IE_INCORRECT", "supi"),
    ],
)
def test_malformed_requests_are_400_problems_with_a_3gpp_cause(
    registry: Runtime, params: dict[str, str], cause: str, param: str
) -> None:
    with running_http_server(create_app(registry, FixedClock(NOW))) as base:
        answer = status(base, **params)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["cause"] == cause and body["invalidParams"][0]["param"] == param


def test_the_operation_is_in_the_openapi_document(registry: Runtime) -> None:
    with running_http_server(create_app(registry)) as base:
        spec = httpx.get(base + "/openapi.json").json()
    assert "get" in spec["paths"][PATH]
