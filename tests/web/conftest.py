"""Portal fixtures: a running server on a populated registry, and one headless Chromium for
the whole session (Debian's /usr/bin/chromium driven by Playwright; never a downloaded one)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import running_http_server
from tests.web.portal_world import NOW, World, build_world
from tizim.clock import FixedClock
from tizim.config import Settings
from tizim.interfaces.http.app import create_app
from tizim.runtime import Runtime

CHROMIUM = os.environ.get("TIZIM_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
BROWSER_LOCALES = {"kk": "kk-KZ", "ru": "ru-RU", "en": "en-GB"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class Portal:
    base: str
    world: World
    clock: FixedClock
    registry: Runtime
    upload_dir: Path


@pytest.fixture
def portal(registry: Runtime, tmp_path: Path) -> Iterator[Portal]:
    """The registry's HTTP app on a fixed clock, support files in a private temporary folder."""
    upload_dir = tmp_path / "support-files"
    runtime = Runtime(
        Settings(
            database_url=registry.settings.database_url,
            support_upload_dir=upload_dir,
            check_rate_limit=40,
        )
    )
    world = build_world(runtime, tmp_path)
    clock = FixedClock(NOW)
    try:
        with running_http_server(create_app(runtime, clock)) as base:
            yield Portal(base, world, clock, runtime, upload_dir)
    finally:
        runtime.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def phone(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh phone-sized browser context (no cookies shared between tests)."""
    params = getattr(request.node, "callspec", None)
    lang = params.params.get("lang", "en") if params else "en"
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=1,
        locale=BROWSER_LOCALES[lang],  # the phone's own widgets (date picker) in that language
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page: object, lang: str, name: str) -> Path:
    """Save the whole page as test-artifacts/<lang>/<name>.png (gitignored), for people."""
    path = ARTIFACTS / lang / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
