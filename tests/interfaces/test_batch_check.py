"""Operators' batch check over real HTTP: API keys, roles, the 1,000-IMEI limit, sightings."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from tests.support.servers import running_http_server
from tizim.clock import FixedClock
from tizim.interfaces.http.app import create_app
from tizim.runtime import Runtime
from tizim.services.facts import Fact, FactKind, record_facts
from tizim.services.orgs import Role, create_organisation
from tizim.storage.schema import sightings

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 1, 10, tzinfo=ALMATY)
WHITE, NEW = "490154203237518", "356938035643809"
URL = "/api/v1/operator/checks"


def keys(registry: Runtime) -> dict[str, str]:
    out = {}
    with registry.transaction() as conn:
        for code, role in (("KCELL", Role.OPERATOR), ("IMPORTER1", Role.IMPORTER)):
            _, out[code] = create_organisation(conn, code=code, role=role, now=NOW)
        record_facts(
            conn,
            [Fact(WHITE, FactKind.TRUSTED_REGISTRATION, "t", NOW)],
            now=NOW,
            rules=registry.rules,
            source="t",
        )
    return out


def post(base: str, imeis: list[str], key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(base + URL, json={"imeis": imeis}, headers=headers)


def test_an_operator_checks_a_batch_and_each_check_is_its_sighting(registry: Runtime) -> None:
    api_keys = keys(registry)
    with running_http_server(create_app(registry, FixedClock(NOW))) as base:
        answer = post(base, [WHITE, NEW, "4901542032375102", "garbage"], api_keys["KCELL"])
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [(r["imei"], r["list"]) for r in results] == [
        (WHITE, "white"),
        (NEW, "unknown"),
        (WHITE, "white"),
        (None, "black"),
    ]
    assert results[1]["reason"] == "NOT_SEEN" and results[3]["reason"] == "INVALID_FORMAT"
    with registry.engine.connect() as conn:  # the server stopped: the recorder has flushed
        seen = {(r.imei, r.operator) for r in conn.execute(select(sightings))}
    assert seen == {(WHITE, "KCELL"), (NEW, "KCELL")}


def test_only_operators_with_a_valid_key_may_check(registry: Runtime) -> None:
    api_keys = keys(registry)
    with running_http_server(create_app(registry, FixedClock(NOW))) as base:
        anonymous = post(base, [WHITE], None)
        wrong_key = post(base, [WHITE], "tz_nope_nope")
        importer = post(base, [WHITE], api_keys["IMPORTER1"])
    assert (anonymous.status_code, wrong_key.status_code, importer.status_code) == (401, 401, 403)
    assert importer.headers["content-type"] == "application/problem+json"


def test_more_than_a_thousand_imeis_is_refused_whole(registry: Runtime) -> None:
    api_keys = keys(registry)
    with running_http_server(create_app(registry, FixedClock(NOW))) as base:
        at_limit = post(base, [WHITE] * 1000, api_keys["KCELL"])
        over = post(base, [WHITE] * 1001, api_keys["KCELL"])
        malformed = httpx.post(
            base + URL, json={"imei": WHITE}, headers={"X-API-Key": api_keys["KCELL"]}
        )
    assert at_limit.status_code == 200 and len(at_limit.json()["results"]) == 1000
    assert over.status_code == 413 and over.json()["limit"] == 1000
    assert over.headers["content-type"] == "application/problem+json"
    assert malformed.status_code == 422
