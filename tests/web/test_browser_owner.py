"""An owner verifies a phone brought from abroad, on a phone screen, in kk, ru and en:
the pre-check shows a problem next to its field, the owner fixes it and submits, is refused
for a wrong declaration number, corrects it (keeping what was right, paying nothing more) and
is approved — the phone is then on the white list."""

from __future__ import annotations

import pytest

from tests.web.conftest import Portal, screenshot
from tests.web.portal_world import LANGS
from tizim.i18n import translate

pytestmark = pytest.mark.browser


def _t(key: str, lang: str, **params: str) -> str:
    return translate(key, lang, "pages", **params)


def _typo(imei: str) -> str:
    """The same IMEI with a wrong check digit, as a person mistypes it."""
    return imei[:-1] + str((int(imei[-1]) + 1) % 10)


@pytest.mark.parametrize("lang", LANGS)
def test_owner_fixes_a_problem_is_refused_corrects_and_is_approved(  # type: ignore[no-untyped-def]
    phone, portal: Portal, lang: str
) -> None:
    owner = portal.world.owners[lang]
    phone.goto(f"{portal.base}/verify?lang={lang}")
    phone.get_by_label(_t("verify.iin", lang), exact=True).fill(owner.iin)
    phone.get_by_label(_t("verify.imei_n", lang, n="1"), exact=True).fill(_typo(owner.imeis[0]))
    phone.get_by_label(_t("verify.imei_n", lang, n="2"), exact=True).fill(owner.imeis[1])
    phone.get_by_role("radio", name=_t("proof.customs", lang)).check()
    phone.get_by_label(_t("verify.declaration_number", lang), exact=True).fill("DCL-WRONG-0001")
    screenshot(phone, lang, "10-verify-form")

    phone.get_by_role("button", name=_t("verify.precheck", lang)).click()
    imei_problem = phone.locator(".field:has(#f-imei_1) .error")
    imei_problem.wait_for()
    assert owner.imeis[0][:-1] in imei_problem.inner_text()
    assert (
        "DCL-WRONG-0001" in phone.locator(".field:has(#f-declaration_number) .error").inner_text()
    )
    assert phone.locator(".field:has(#f-imei_2) .error").count() == 0
    assert phone.locator("#f-imei_1").get_attribute("aria-invalid") == "true"
    assert phone.evaluate("document.activeElement.id") == "f-imei_1"  # focus on the first problem
    assert "3\u202f932" in phone.locator("#fee").inner_text()  # 1 MRP of 2025
    screenshot(phone, lang, "11-precheck-problems")

    phone.locator("#f-imei_1").fill(owner.imeis[0])  # fixes the IMEI, not the declaration
    phone.get_by_role("button", name=_t("verify.submit", lang)).click()
    status = phone.locator("#app-status")
    status.wait_for()
    assert status.inner_text() == _t("app.status.refused", lang)
    assert "DCL-WRONG-0001" in phone.locator("#reasons").inner_text()
    number = phone.locator("#app-number").inner_text()
    screenshot(phone, lang, "12-refused")

    phone.get_by_role("button", name=_t("my.app.fix", lang)).click()
    phone.locator("#f-declaration_number").wait_for()
    assert phone.locator("#f-imei_1").input_value() == owner.imeis[0]  # what was right is kept
    assert phone.locator("#f-iin").input_value() == owner.iin
    assert (
        "DCL-WRONG-0001" in phone.locator(".field:has(#f-declaration_number) .error").inner_text()
    )
    screenshot(phone, lang, "13-fix-form")
    phone.locator("#f-declaration_number").fill(owner.declaration)
    phone.get_by_role("button", name=_t("verify.precheck", lang)).click()
    phone.locator("#precheck-result.notice-ok").wait_for()
    assert phone.locator("#fee").inner_text().startswith(_t("verify.fee_text", lang, fee="0")[:6])
    phone.get_by_role("button", name=_t("verify.submit", lang)).click()
    phone.locator("#app-status").wait_for()
    assert phone.locator("#app-status").inner_text() == _t("app.status.approved", lang)
    assert phone.locator("#app-number").inner_text() != number
    screenshot(phone, lang, "14-approved")

    phone.goto(f"{portal.base}/check?imeis={owner.imeis[0]}%0A{owner.imeis[1]}")
    phone.locator(".result").first.wait_for()
    assert phone.locator(".result-white").count() == 2
