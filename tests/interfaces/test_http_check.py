"""The public check over real HTTP."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from tests.support.servers import running_http_server
from tizim.clock import FixedClock
from tizim.interfaces.http.app import create_app
from tizim.runtime import Runtime
from tizim.services.facts import record_sighting

ALMATY = ZoneInfo("Asia/Almaty")


def test_check_over_http_follows_the_clock(registry: Runtime) -> None:
    first_seen = datetime(2025, 9, 10, 10, tzinfo=ALMATY)
    with registry.transaction() as conn:
        record_sighting(
            conn,
            imei="490154203237518",
            operator="KCELL",
            imsi="401021234567890",
            msisdn="77011234567",
            seen_at=first_seen,
            now=first_seen,
            rules=registry.rules,
        )
    clock = FixedClock(datetime(2025, 9, 20, tzinfo=ALMATY))
    with running_http_server(create_app(registry, clock)) as base:
        grey = httpx.get(f"{base}/api/v1/imeis/49015420323751").json()
        clock.set(datetime(2025, 10, 10, tzinfo=ALMATY))
        black = httpx.get(f"{base}/api/v1/imeis/490154203237518").json()
        invalid = httpx.get(f"{base}/api/v1/imeis/abc")
        spec = httpx.get(f"{base}/openapi.json")
    assert (grey["list"], grey["grace_deadline"]) == ("grey", "2025-10-09T19:00:00Z")
    assert (black["list"], black["reasons"]) == ("black", ["GRACE_EXPIRED"])
    assert invalid.status_code == 200 and invalid.json()["reasons"] == ["INVALID_FORMAT"]
    assert "/api/v1/imeis/{imei}" in spec.json()["paths"]
