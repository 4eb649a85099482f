"""`/docs` works with no internet: a state network has none (issue 15). The browser refuses
every request that leaves the registry's own host; Swagger UI must still draw the API."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from tests.web.conftest import Portal

pytestmark = pytest.mark.browser


def test_docs_page_draws_every_operation_with_the_internet_cut_off(phone, portal: Portal) -> None:  # type: ignore[no-untyped-def]
    own_host = urlsplit(portal.base).netloc
    left_the_registry: list[str] = []

    def only_the_registry(route) -> None:  # type: ignore[no-untyped-def]
        if urlsplit(route.request.url).netloc == own_host:
            route.continue_()
        else:
            left_the_registry.append(route.request.url)
            route.abort()

    phone.route("**/*", only_the_registry)
    phone.goto(f"{portal.base}/docs")
    operations = phone.locator(".opblock-summary-path")
    operations.first.wait_for()
    shown = {operations.nth(i).inner_text() for i in range(operations.count())}
    assert "/n5g-eir-eic/v1/equipment-status" in shown
    assert "/api/v1/imeis/{imei}" in shown
    assert left_the_registry == []


def test_docs_page_loads_no_script_from_elsewhere_and_none_inline(portal: Portal) -> None:
    page = httpx.get(f"{portal.base}/docs").text
    assert "cdn" not in page.lower() and "https://" not in page
    assert "<script>" not in page  # only <script src=...>: a strict CSP allows it
    bundle = httpx.get(f"{portal.base}/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text[:100_000]
    assert httpx.get(f"{portal.base}/redoc").status_code == 404  # redoc would need a CDN
