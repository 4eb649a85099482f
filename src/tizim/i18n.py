"""Messages people read, in Kazakh, Russian and English: one API over babel .po catalogues.

Catalogues live in `tizim/locale/<lang>/LC_MESSAGES/<domain>.po` and are read at run time
with `babel.messages.pofile.read_po` (no compile step: the .po text is the source of truth,
and a reviewer reads exactly what users see). The message id is a stable key — a reason
code such as `IIN_INVALID_CHECK_DIGIT` — never English prose, so changing a wording never
orphans a translation. Messages may carry `{name}` placeholders filled from keyword params.

Adding a domain (e.g. "pages" for the web portal):
1. create `locale/kk/LC_MESSAGES/pages.po`, `locale/ru/...` and `locale/en/...` with the same
   msgids (a header entry with `Content-Type: text/plain; charset=UTF-8` is enough);
2. call `translate("PAGE_TITLE", lang, domain="pages", name=...)`;
3. test with `missing_messages("pages")` that every key exists in every language.
Nothing is registered anywhere: the domain is the file name.

Language choice: an explicit choice (`?lang=`, a form field) wins, then the Accept-Language
header, then Kazakh, the state language.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from string import Formatter
from typing import Any

from babel.messages.pofile import read_po

LANGUAGES: tuple[str, ...] = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"
LOCALE_DIR = Path(__file__).parent / "locale"


@lru_cache(maxsize=32)
def catalogue(domain: str, lang: str) -> dict[str, str]:
    """Key → message of one domain in one language ({} when the file does not exist)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        parsed = read_po(handle, locale=lang, domain=domain)
    return {
        str(message.id): str(message.string)
        for message in parsed
        if message.id and isinstance(message.id, str) and message.string
    }


class _KeepMissing(dict[str, Any]):
    """Leave an unknown `{placeholder}` as written instead of failing the whole message."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translate(key: str, lang: str, domain: str = "reasons", **params: Any) -> str:
    """The message for `key` in `lang` with its placeholders filled.

    Falls back to English, then to the key itself: a person always gets some text and a
    missing translation shows up in tests (`missing_messages`), never as a server error.
    """
    for candidate in (lang, "en"):
        template = catalogue(domain, candidate).get(key)
        if template is not None:
            return Formatter().vformat(template, (), _KeepMissing(params))
    return key


def translations(key: str, domain: str = "reasons", **params: Any) -> dict[str, str]:
    """The message in every supported language: {"kk": ..., "ru": ..., "en": ...}."""
    return {lang: translate(key, lang, domain, **params) for lang in LANGUAGES}


def missing_messages(domain: str, keys: list[str] | None = None) -> dict[str, list[str]]:
    """Per language, the keys without a message (all keys of any language when `keys` is None)."""
    wanted = (
        set(keys)
        if keys is not None
        else set().union(*(catalogue(domain, lang).keys() for lang in LANGUAGES))
    )
    return {
        lang: sorted(wanted - catalogue(domain, lang).keys())
        for lang in LANGUAGES
        if wanted - catalogue(domain, lang).keys()
    }


def negotiate_language(accept_language: str | None, explicit: str | None = None) -> str:
    """ "kk", "ru" or "en": the explicit choice if supported, else the best Accept-Language."""
    if explicit and _primary(explicit) in LANGUAGES:
        return _primary(explicit)
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and _primary(tag) in LANGUAGES and quality > 0:
            ranked.append((-quality, position, _primary(tag)))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def _primary(tag: str) -> str:
    """ "ru-RU" → "ru"; "kk_KZ" → "kk"; "KK" → "kk"."""
    return tag.strip().replace("_", "-").split("-")[0].lower()
