"""A buyer checks white, grey and black phones on a phone screen, in kk, ru and en."""

from __future__ import annotations

import pytest

from tests.web.conftest import Portal, screenshot
from tests.web.portal_world import LANGS
from tizim.i18n import translate

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", LANGS)
def test_buyer_checks_white_grey_and_black_phones(phone, portal: Portal, lang: str) -> None:  # type: ignore[no-untyped-def]
    world = portal.world
    phone.goto(f"{portal.base}/?lang={lang}")
    assert phone.locator("html").get_attribute("lang") == lang
    screenshot(phone, lang, "01-home")
    phone.get_by_role("link", name=translate("nav.check", lang, "pages")).first.click()
    field = phone.get_by_label(translate("check.imeis", lang, "pages"))
    field.fill(f"{world.white}\n{world.grey}\n{world.black}")
    field.press("Tab")
    phone.keyboard.press("Enter")  # the submit button has the focus: keyboard-only use works
    results = phone.locator(".result")
    results.first.wait_for()
    assert results.count() == 3
    texts = [results.nth(i).inner_text() for i in range(3)]
    for text, name in zip(texts, ("white", "grey", "black"), strict=True):
        assert translate(f"list.{name}", lang, "pages") in text
        assert translate(f"check.advice.{name}", lang, "pages") in text
    assert "Apple iPhone 15" in texts[0]
    assert "10.12.2025" in texts[1]  # grace deadline: first seen 10.11.2025 + 30 days
    screenshot(phone, lang, "02-check-results")


@pytest.mark.parametrize("lang", LANGS)
def test_public_statistics_show_charts_with_their_tables(phone, portal: Portal, lang: str) -> None:  # type: ignore[no-untyped-def]
    phone.goto(f"{portal.base}/stats?lang={lang}")
    charts = phone.locator("svg.chart")
    assert charts.count() == 5
    assert phone.locator("table").count() >= 6
    title = charts.first.locator("title").text_content()
    assert title == translate("stats.lists", lang, "pages")
    screenshot(phone, lang, "03-statistics")
