"""The message API every interface uses: language negotiation, placeholders, fallbacks."""

from __future__ import annotations

import pytest

from tizim.i18n import missing_messages, negotiate_language, translate, translations


@pytest.mark.parametrize(
    ("header", "explicit", "chosen"),
    [
        (None, None, "kk"),  # the state language by default
        ("ru-RU,ru;q=0.9,en;q=0.8", None, "ru"),
        ("de-DE,en;q=0.5,ru;q=0.7", None, "ru"),
        ("en-GB", None, "en"),
        ("kk_KZ", None, "kk"),
        ("fr, de", None, "kk"),
        ("ru;q=0, en;q=0.1", None, "en"),
        ("ru;q=bogus, en;q=0.1", None, "en"),
        ("ru", "EN", "en"),  # an explicit choice wins
        ("ru", "fr", "ru"),  # an unsupported explicit choice is ignored
    ],
)
def test_language_negotiation(header: str | None, explicit: str | None, chosen: str) -> None:
    assert negotiate_language(header, explicit) == chosen


def test_translate_fills_placeholders_and_keeps_unknown_ones_visible() -> None:
    assert "KZ-2025-000001" in translate(
        "IMEI_APPLICATION_PENDING", "kk", imei="1", number="KZ-2025-000001"
    )
    assert "{number}" in translate("IMEI_APPLICATION_PENDING", "en", imei="1")


def test_unknown_keys_and_domains_fall_back_to_the_key() -> None:
    assert translate("NO_SUCH_KEY", "ru") == "NO_SUCH_KEY"
    assert translate("VERIFIED", "ru", domain="no-such-domain") == "VERIFIED"
    assert missing_messages("reasons") == {}


def test_translations_gives_all_three_languages() -> None:
    texts = translations("GRACE_EXPIRED")
    assert set(texts) == {"kk", "ru", "en"} and len(set(texts.values())) == 3
