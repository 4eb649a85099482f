"""Every page in every language: no missing message, no English left in kk or ru.

Two walks: the catalogues against every key the templates and page code use (statically), and
every template rendered over real HTTP in kk, ru and en, looking for raw keys (what `translate`
shows when a message is missing) and for English sentences in Kazakh and Russian pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import Portal
from tests.web.portal_world import LANGS, STAFF_PASSWORD, STAFF_USER
from tizim.i18n import catalogue, missing_messages

WEB = Path(__file__).resolve().parents[2] / "src" / "tizim" / "interfaces" / "web"
TEMPLATES = WEB / "templates"
USED_KEY = re.compile(
    r"""_\(\s*["']([a-z0-9_.]+)["']|(?:message|error|advice)_key\s*=\s*["']([a-z0-9_.]+)["']"""
    r"""|SupportProblem\(\s*["']([a-z0-9_.]+)["']"""
)
DYNAMIC = {  # keys built from a prefix and a value (`_("list." ~ name)`)
    "app.kind.": ("verification", "pairing"),
    "app.status.": ("awaiting_payment", "paid", "in_review", "approved", "refused"),
    "my.app.explain.": ("awaiting_payment", "paid", "in_review", "approved", "refused"),
    "lang.": LANGS,
    "list.": ("white", "grey", "black", "unknown"),
    "check.advice.": ("white", "grey", "black", "unknown"),
    "proof.": ("customs", "border", "parcel"),
    "role.": (
        "importer",
        "manufacturer",
        "service_centre",
        "operator",
        "verification_provider",
        "police",
        "registry_staff",
    ),
    "staff.app.direction.": ("entry", "exit"),
    "support.status.": ("open", "answered", "all"),
}
# Words that are the same in every language (codes, formats, the product's name).
LATIN_ALLOWED = {
    "imei", "tizim", "sms", "png", "jpeg", "gif", "webp", "base64", "pem", "json", "api",
    "e-mail", "mail", "kz", "base",
}  # fmt: skip
SAME_EVERYWHERE = {"lang.kk", "lang.ru", "lang.en", "verify.imei_n"}


def used_keys() -> set[str]:
    sources = [*TEMPLATES.rglob("*.html"), *WEB.glob("*.py")]
    sources.append(WEB.parents[1] / "services" / "support.py")
    keys = set()
    for source in sources:
        for match in USED_KEY.finditer(source.read_text(encoding="utf-8")):
            keys.add(next(group for group in match.groups() if group))
    dynamic = {key for key in keys if key.endswith(".")}
    keys -= dynamic
    assert dynamic <= set(DYNAMIC), f"new dynamic keys need their values listed: {dynamic}"
    return keys | {prefix + value for prefix, values in DYNAMIC.items() for value in values}


def test_every_key_the_pages_use_exists_in_every_language() -> None:
    keys = used_keys()
    assert len(keys) > 200
    assert missing_messages("pages", sorted(keys)) == {}
    unused = set(catalogue("pages", "en")) - keys
    assert not unused, f"messages no page uses: {sorted(unused)}"


def test_the_three_catalogues_have_the_same_keys() -> None:
    assert missing_messages("pages") == {}


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_kazakh_and_russian_are_written_not_english_placeholders(lang: str) -> None:
    english = catalogue("pages", "en")
    for key, text in catalogue("pages", lang).items():
        if key in SAME_EVERYWHERE:
            continue
        assert re.search("[а-яёәғқңөұүһі]", text, re.IGNORECASE), f"{lang} {key}: {text!r}"
        assert text != english[key], f"{lang} {key} is the English text"
        words = {w.lower() for w in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", text) if len(w) > 3}
        placeholders = set(re.findall(r"\{(\w+)\}", text))
        stray = words - LATIN_ALLOWED - {p.lower() for p in placeholders}
        assert not stray, f"{lang} {key} has English words {stray}: {text!r}"


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_placeholders_are_the_same_in_every_language(lang: str) -> None:
    english = catalogue("pages", "en")
    for key, text in catalogue("pages", lang).items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", english[key])), (
            key
        )


RAW_KEY = re.compile(
    r"\b(?:site|nav|home|check|verify|app|my|support|staff|stats|list|proof|role|error|lang)"
    r"\.[a-z_]+(?:\.[a-z_]+)*\b"
)


def _csrf(client: httpx.Client, path: str) -> str:
    client.get(path)
    return client.cookies.get("tizim_csrf") or ""


def _pages(portal: Portal, lang: str) -> Iterator[tuple[str, httpx.Response]]:
    """(template, response) for every template, reached the way people reach it."""
    world = portal.world
    owner = world.owners[lang]
    with httpx.Client(base_url=portal.base, params={"lang": lang}, timeout=30) as web:
        yield "home.html", web.get("/")
        yield "check.html", web.get("/check", params={"imeis": f"{world.white} {world.grey}"})
        yield "verify.html", web.get("/verify")
        token = _csrf(web, "/verify")
        form = {"csrf_token": token, "iin": owner.iin, "imei_1": owner.imeis[0], "action": "x"}
        yield "verify.html", web.post("/verify", data=form)
        yield "my.html", web.get("/my")
        form = {"csrf_token": token, "number": world.queued, "iin": world.owners["queued"].iin}
        yield "my_application.html", web.post("/my", data=form)
        yield "support_form.html", web.get("/support")
        opened = web.post(
            "/support",
            data={"csrf_token": token, "subject": "Test", "description": "A long description"},
        )
        yield "support_opened.html", opened
        number = re.search(r"S-[A-Z2-9]{8}", opened.text)
        yield "support_lookup.html", web.get("/support/ticket")
        secret = re.search(r'id="ticket-secret">([^<]+)<', opened.text)
        assert number and secret
        lookup = {"csrf_token": token, "number": number.group(0), "secret": secret.group(1)}
        yield "support_lookup.html", web.post("/support/ticket", data=lookup)
        yield "stats.html", web.get("/stats")
        yield "error.html", web.post("/support/ticket", data={"number": "x"})  # no CSRF token
        yield "staff/login.html", web.get("/staff/login")
        login = {"csrf_token": token, "username": STAFF_USER, "password": STAFF_PASSWORD}
        yield "staff/queue.html", web.post("/staff/login", data=login, follow_redirects=True)
        yield "staff/application.html", web.get(f"/staff/applications/{world.queued}")
        yield "staff/tickets.html", web.get("/staff/support", params={"status": "all"})
        yield "staff/ticket.html", web.get(f"/staff/support/{number.group(0)}")
        yield "staff/orgs.html", web.get("/staff/orgs")
        yield "staff/uploads.html", web.get("/staff/uploads")
        yield "staff/clones.html", web.get("/staff/clones")
        yield "staff/imei.html", web.get("/staff/imei", params={"imei": world.black})
        yield "stats.html", web.get("/staff/stats")


@pytest.mark.parametrize("lang", LANGS)
def test_every_template_renders_in_every_language(portal: Portal, lang: str) -> None:
    fragments = [
        max(re.split(r"\{\w+\}", t), key=len).strip() for t in catalogue("pages", "en").values()
    ]
    english_sentences = [fragment for fragment in fragments if len(fragment) > 14]
    seen = set()
    for template, response in _pages(portal, lang):
        seen.add(template)
        assert response.headers["content-type"].startswith("text/html"), template
        assert response.headers["content-language"] == lang, template
        assert f'<html lang="{lang}">' in response.text, template
        text = re.sub(r"<[^>]+>", " ", response.text)
        assert not RAW_KEY.findall(text), f"{template}: untranslated {RAW_KEY.findall(text)}"
        if lang != "en":
            leaked = [s for s in english_sentences if s in text]
            assert not leaked, f"{template} in {lang} shows English: {leaked}"
    expected = {str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")}
    assert seen == expected - {"base.html", "macros.html"}
