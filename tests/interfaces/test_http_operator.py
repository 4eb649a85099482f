"""Operators over the real HTTP server: observation uploads and list downloads, with keys."""

from __future__ import annotations

import gzip
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.support.servers import running_http_server
from tizim.clock import FixedClock
from tizim.interfaces.http.app import create_app
from tizim.runtime import Runtime
from tizim.services.notifications import NotificationPlan
from tizim.services.operator_lists import generate_lists
from tizim.services.orgs import Role, create_organisation

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2025, 9, 1, 22, 0, tzinfo=ALMATY)
IMEI = "490154203237518"
BODY = (
    "seen_at,imei,imsi,msisdn\n"
    f"2025-09-01T10:00:00,{IMEI},401021111111111,77011111111\n"
    f"2025-09-01T11:00:00,{IMEI},401015555555555,77055555555\n"
)


def post(url: str, **kwargs: Any) -> httpx.Response:
    """A generous timeout: a loaded shared machine must not turn a slow answer into a failure."""
    return httpx.post(url, timeout=120, **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, timeout=120, **kwargs)


def keys(registry: Runtime) -> dict[str, str]:
    out = {}
    with registry.transaction() as conn:
        for code, role, codes in (
            ("KCELL", Role.OPERATOR, ("40102",)),
            ("BEELINE", Role.OPERATOR, ("40101",)),
            ("IMP-1", Role.IMPORTER, ()),
            ("STAFF", Role.REGISTRY_STAFF, ()),
        ):
            _, out[code] = create_organisation(conn, code=code, role=role, mcc_mncs=codes, now=NOW)
    return out


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_an_operator_uploads_its_observations_once(registry: Runtime) -> None:
    key = keys(registry)
    with running_http_server(create_app(registry, FixedClock(NOW))) as base:
        url = f"{base}/api/v1/observations"
        loaded = post(url, content=gzip.compress(BODY.encode()), headers=auth(key["KCELL"]))
        assert loaded.status_code == 201, loaded.text
        assert loaded.json()["rows_accepted"] == 2 and loaded.json()["outcome"] == "accepted"
        again = post(url, content=BODY.encode(), headers=auth(key["KCELL"]))
        assert again.status_code == 201  # plain text: other bytes, same rows: nothing changes
        assert again.json()["counts"]["sightings_new"] == 0
        duplicate = post(url, content=BODY.encode(), headers=auth(key["KCELL"]))
        assert duplicate.status_code == 200 and duplicate.json()["outcome"] == "duplicate"
        check = get(f"{base}/api/v1/imeis/{IMEI}")
        assert check.json()["list"] == "grey"
        assert loaded.json()["upload_id"] is not None


def test_uploads_are_refused_to_strangers_and_bad_files_are_422(registry: Runtime) -> None:
    key = keys(registry)
    with running_http_server(create_app(registry, FixedClock(NOW))) as base:
        url = f"{base}/api/v1/observations"
        assert post(url, content=BODY.encode()).status_code == 401
        assert post(url, content=BODY, headers=auth(key["IMP-1"])).status_code == 403
        other = post(f"{url}?operator=BEELINE", content=BODY, headers=auth(key["KCELL"]))
        assert other.status_code == 403
        staff = post(f"{url}?operator=BEELINE", content=BODY, headers=auth(key["STAFF"]))
        assert staff.status_code == 201
        bad = post(url, content="seen_at,imei,imsi,msisdn\nx,1,2,3\n", headers=auth(key["KCELL"]))
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["report"]["errors"][0]["line"] == 2


def test_operators_download_common_lists_and_only_their_own_notifications(
    registry: Runtime, tmp_path: Path
) -> None:
    key = keys(registry)
    with running_http_server(create_app(registry, FixedClock(NOW))) as base:
        assert (
            get(f"{base}/api/v1/operator-lists/latest", headers=auth(key["KCELL"])).status_code
            == 404
        )
        post(f"{base}/api/v1/observations", content=BODY, headers=auth(key["KCELL"]))
        with registry.transaction() as conn:
            generation = generate_lists(
                conn, tmp_path, now=NOW, rules=registry.rules, plan=NotificationPlan()
            )
        manifest = get(f"{base}/api/v1/operator-lists/latest", headers=auth(key["KCELL"]))
        assert manifest.status_code == 200
        names = [entry["name"] for entry in manifest.json()["files"]]
        assert names == ["black.csv", "grey.csv", "delta.csv", "notifications-KCELL.csv"]
        own = get(
            f"{base}/api/v1/operator-lists/{generation.id}/notifications-KCELL.csv",
            headers=auth(key["KCELL"]),
        )
        assert own.status_code == 200
        assert hashlib.sha256(own.content).hexdigest() == own.headers["X-Content-SHA256"]
        assert "77011111111" in own.text and "77055555555" not in own.text
        theirs = get(
            f"{base}/api/v1/operator-lists/latest/notifications-BEELINE.csv",
            headers=auth(key["KCELL"]),
        )
        assert theirs.status_code == 404
        grey = get(f"{base}/api/v1/operator-lists/latest/grey.csv", headers=auth(key["BEELINE"]))
        assert grey.status_code == 200 and IMEI in grey.text
        staff = get(f"{base}/api/v1/operator-lists/latest", headers=auth(key["STAFF"]))
        assert len(staff.json()["files"]) == 5
        importer = get(f"{base}/api/v1/operator-lists/latest", headers=auth(key["IMP-1"]))
        assert importer.status_code == 403
