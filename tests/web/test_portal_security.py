"""The portal over real HTTP: CSRF, staff sessions and cookies, rate limits, language choice,
attachments only for staff, and no personal data on public pages."""

from __future__ import annotations

import secrets
from datetime import timedelta

import httpx
import pytest
import redis

from tests.support.servers import running_http_server
from tests.web.conftest import Portal
from tests.web.portal_world import NOW, STAFF_PASSWORD, STAFF_USER
from tizim.clock import FixedClock
from tizim.config import Settings
from tizim.interfaces.http.app import create_app
from tizim.runtime import Runtime
from tizim.services.applications import application_view

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
REDIS_URL = "redis://127.0.0.1:6379/0"


def _client(portal: Portal, **extra: object) -> httpx.Client:
    return httpx.Client(base_url=portal.base, timeout=30, **extra)  # type: ignore[arg-type]


def _token(client: httpx.Client) -> str:
    client.get("/support")
    return client.cookies["tizim_csrf"]


def test_posts_without_the_right_csrf_token_are_refused(portal: Portal) -> None:
    with _client(portal) as web:
        token = _token(web)
        login = {"username": STAFF_USER, "password": STAFF_PASSWORD}
        assert web.post("/staff/login", data=login).status_code == 403
        assert web.post("/staff/login", data={**login, "csrf_token": "forged"}).status_code == 403
        signed_in = web.post("/staff/login", data={**login, "csrf_token": token})
        assert signed_in.status_code == 303
        session_token = web.get("/staff").text.split('name="csrf_token" value="')[1].split('"')[0]
        decide = f"/staff/applications/{portal.world.queued}/decide"
        # The public cookie token is not the session's token: a staff form needs the latter.
        assert web.post(decide, data={"verdict": "approve", "csrf_token": token}).status_code == 403
        done = web.post(decide, data={"verdict": "refuse", "csrf_token": session_token})
        assert done.status_code == 303
    with portal.registry.transaction() as conn:
        view = application_view(conn, portal.world.queued, lang="en", personal=False)
    assert view is not None and view["status"] == "refused"


def test_staff_sessions_use_safe_cookies_and_end_on_logout(portal: Portal) -> None:
    with _client(portal) as web:
        assert web.get("/staff/orgs").headers["location"] == "/staff/login?next=/staff/orgs"
        token = _token(web)
        wrong = web.post(
            "/staff/login",
            data={"username": STAFF_USER, "password": "not the password", "csrf_token": token},
        )
        assert wrong.status_code == 401 and "tizim_staff" not in wrong.headers.get("set-cookie", "")
        signed_in = web.post(
            "/staff/login",
            data={
                "username": STAFF_USER,
                "password": STAFF_PASSWORD,
                "csrf_token": token,
                "next": "https://evil.example/",
            },
        )
        cookie = signed_in.headers["set-cookie"]
        assert signed_in.headers["location"] == "/staff"  # never to another site
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "tizim_staff=" in cookie
        assert web.get("/staff/orgs").status_code == 200
        page = web.get("/staff").text
        session_token = page.split('name="csrf_token" value="')[1].split('"')[0]
        web.post("/staff/logout", data={"csrf_token": session_token})
        assert web.get("/staff/orgs").status_code == 303


def test_cookies_are_secure_when_configured(portal: Portal) -> None:
    with _client(portal, headers={"X-Forwarded-Proto": "https"}) as web:
        assert "Secure" in web.get("/support").headers["set-cookie"]
    with _client(portal) as web:
        assert "Secure" not in web.get("/support").headers["set-cookie"]


def test_the_public_check_is_rate_limited_per_client(portal: Portal) -> None:
    limit = portal.registry.settings.check_rate_limit
    with _client(portal) as web:
        answers = [
            web.get("/check", params={"imeis": portal.world.white}).status_code
            for _ in range(limit + 1)
        ]
        refused = web.get("/check", params={"imeis": portal.world.white})
        assert web.get("/check").status_code == 200  # the empty form is not counted
    assert answers[:limit] == [200] * limit and answers[limit] == 429
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


def test_language_follows_the_choice_then_the_cookie_then_the_browser(portal: Portal) -> None:
    with _client(portal, headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}) as web:
        assert web.get("/").headers["content-language"] == "ru"
        assert web.get("/?lang=en").headers["content-language"] == "en"
        assert web.get("/").headers["content-language"] == "en"  # remembered in a cookie
    with _client(portal) as web:
        assert web.get("/").headers["content-language"] == "kk"  # the state language


def test_attachments_are_served_only_to_staff_and_never_from_static(portal: Portal) -> None:
    with _client(portal) as web:
        token = _token(web)
        opened = web.post(
            "/support",
            data={"csrf_token": token, "subject": "Help", "description": "Screen attached here"},
            files={"attachments": ("shot.png", PNG, "image/png")},
        )
        refused = web.post(
            "/support",
            data={"csrf_token": token, "subject": "Help", "description": "Not an image at all"},
            files={"attachments": ("shot.png", b"<svg onload=alert(1)>", "image/png")},
        )
    assert opened.status_code == 200 and refused.status_code == 422
    assert 'id="e-attachments-1"' in refused.text  # the problem is shown at its field
    stored = list(portal.upload_dir.iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == PNG
    with _client(portal) as web:
        assert web.get(f"/static/{stored[0].name}").status_code == 404
        assert web.get("/staff/support/S-XXXXXXXX/attachments/1").status_code == 303


def test_public_pages_never_show_an_iin(portal: Portal) -> None:
    owner = portal.world.owners["queued"]
    with _client(portal) as web:
        token = _token(web)
        wrong = web.post(
            "/my", data={"csrf_token": token, "number": portal.world.queued, "iin": "1" * 12}
        )
        right = web.post(
            "/my", data={"csrf_token": token, "number": portal.world.queued, "iin": owner.iin}
        )
        check = web.get("/check", params={"imeis": " ".join(owner.imeis)})
    assert wrong.status_code == 404 and portal.world.queued in wrong.text
    assert right.status_code == 200 and 'id="app-status"' in right.text
    for page in (wrong, right, check):
        assert owner.iin not in page.text.replace(f'value="{owner.iin}"', "")


def test_the_check_limit_is_shared_between_servers_through_redis(portal: Portal) -> None:
    """Two server processes configured with the same Redis draw from one allowance."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"Redis at {REDIS_URL} cannot be reached")
    settings = Settings(
        database_url=portal.registry.settings.database_url,
        redis_url=REDIS_URL,
        check_rate_limit=2,
    )
    # A moment of its own, so that reruns never meet the counts of an earlier run in Redis.
    clock = FixedClock(NOW + timedelta(minutes=secrets.randbelow(10_000_000)))
    runtime = Runtime(settings)
    try:
        with (
            running_http_server(create_app(runtime, clock)) as first,
            running_http_server(create_app(runtime, clock)) as second,
        ):
            imeis = {"imeis": portal.world.white}
            answers = [
                httpx.get(f"{base}/check", params=imeis).status_code
                for base in (first, second, first)
            ]
    finally:
        runtime.close()
    assert answers == [200, 200, 429]
