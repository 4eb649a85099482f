"""Registry staff, on a phone screen, in kk, ru and en: a person sends a support request with
a screenshot; staff sign in with the keyboard, decide the queued application with the evidence
side by side, and answer the request; the person reads the answer."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import Portal, screenshot
from tests.web.portal_world import LANGS, STAFF_PASSWORD, STAFF_USER
from tizim.i18n import translate

pytestmark = pytest.mark.browser
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def _t(key: str, lang: str, **params: str) -> str:
    return translate(key, lang, "pages", **params)


@pytest.mark.parametrize("lang", LANGS)
def test_staff_decide_a_queued_application_and_answer_a_ticket(  # type: ignore[no-untyped-def]
    phone, portal: Portal, lang: str
) -> None:
    # A person asks for help, with a screenshot.
    phone.goto(f"{portal.base}/support?lang={lang}")
    phone.get_by_label(_t("support.subject", lang), exact=True).fill("SMS")
    phone.get_by_label(_t("support.description", lang)).fill("Мен SMS алдым / I got an SMS.")
    phone.get_by_label(_t("support.attachments", lang)).set_input_files(
        files=[{"name": "screen.png", "mimeType": "image/png", "buffer": PNG}]
    )
    screenshot(phone, lang, "20-support-form")
    phone.get_by_role("button", name=_t("support.submit", lang)).click()
    number = phone.locator("#ticket-number").inner_text()
    secret = phone.locator("#ticket-secret").inner_text()
    assert re.fullmatch(r"S-[A-Z2-9]{8}", number)
    # Thursday 20.11.2025 + 5 working days = Thursday 27.11.2025.
    assert _t("support.opened.answer_by", lang, date="27.11.2025") in phone.inner_text("main")
    screenshot(phone, lang, "21-support-opened")

    # Staff sign in using only the keyboard.
    staff = phone.context.new_page()
    staff.goto(f"{portal.base}/staff?lang={lang}")
    assert "/staff/login" in staff.url
    staff.get_by_label(_t("staff.login.username", lang)).fill(STAFF_USER)
    staff.keyboard.press("Tab")
    staff.keyboard.type(STAFF_PASSWORD)
    staff.keyboard.press("Enter")
    staff.get_by_role("heading", name=_t("staff.queue.title", lang)).wait_for()
    screenshot(staff, lang, "22-staff-queue")

    staff.get_by_role("link", name=portal.world.queued).first.click()
    owner = portal.world.owners["queued"]
    stated = staff.locator("section", has=staff.locator("#stated")).inner_text()
    found = staff.locator("section", has=staff.locator("#found")).inner_text()
    assert owner.declaration in stated and owner.declaration in found  # side by side
    assert owner.imeis[0] in found
    screenshot(staff, lang, "23-staff-application")
    staff.get_by_label(_t("staff.decide.approve", lang)).check()
    staff.get_by_role("button", name=_t("staff.decide.submit", lang)).click()
    staff.locator("#app-status").wait_for()
    assert staff.locator("#app-status").inner_text() == _t("app.status.approved", lang)

    staff.goto(f"{portal.base}/staff/support")
    staff.get_by_role("link", name=number).click()
    link = staff.locator("a[href*='/attachments/']").get_attribute("href")
    image = staff.request.get(f"{portal.base}{link}")
    assert image.headers["content-type"] == "image/png" and image.body() == PNG
    staff.get_by_label(_t("staff.ticket.reply", lang)).fill("Ответ: всё в порядке / Бәрі дұрыс.")
    staff.get_by_role("button", name=_t("staff.ticket.send", lang)).click()
    staff.locator("#ticket-status").wait_for()
    assert staff.locator("#ticket-status").inner_text() == _t("support.status.answered", lang)
    screenshot(staff, lang, "24-staff-ticket")

    # The person reads the answer with the number and the secret code.
    phone.goto(f"{portal.base}/support/ticket?number={number}")
    phone.get_by_label(_t("support.lookup.secret", lang)).fill(secret)
    phone.get_by_role("button", name=_t("support.lookup.submit", lang)).click()
    phone.locator(".reply").first.wait_for()
    assert "Бәрі дұрыс" in phone.locator(".reply").inner_text()
    screenshot(phone, lang, "25-support-answer")

    phone.goto(f"{portal.base}/check?imeis={owner.imeis[0]}")
    assert phone.locator(".result-white").count() == 1
