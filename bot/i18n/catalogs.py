"""The catalogs and the choice of one: a `Translator` per language, negotiated from a
Telegram `language_code` ("de", "de-AT"), a locale ("de_DE.UTF-8") or a `--lang` option.

English is the source language: its messages are the code's own strings (no catalog).
Every other language is a Babel catalog, `locales/<lang>/LC_MESSAGES/newsbot.po`, read once
when first asked for (nothing to compile: the `.po` ships in the package). Mark a string for
extraction with `N_` where it is defined and translate it where it is used; `pybabel extract`
finds `gettext`, `ngettext` and `N_` calls (README: Languages).
"""

from __future__ import annotations

import gettext
import io
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from bot.language.detect import code_of

LOCALES = Path(__file__).with_name("locales")
DOMAIN = "newsbot"
SOURCE = "en"  # the language the code's own strings are written in
# The locale variables `newsbot chat` and `ask` read, in gettext's order of precedence.
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def N_(message: str) -> str:
    """Mark `message` for the catalogs where it is defined (gettext's name for it, which the
    extractor knows); it is translated where it is used."""
    return message


class Translator:
    """The bot's words in one language: `gettext`, `ngettext` (the catalog's own plural
    forms) and numbers written as that language writes them."""

    def __init__(self, locale: str, translations: gettext.NullTranslations) -> None:
        self.locale = locale
        self._translations = translations

    def __repr__(self) -> str:
        return f"Translator({self.locale!r})"

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._translations.ngettext(singular, plural, n)

    def number(self, n: int) -> str:
        """A count: "1234" in English (as bot.text.plural writes it), "1.234" in German."""
        return str(n) if self.locale == SOURCE else format_decimal(n, locale=self.locale)

    def percent(self, share: float) -> str:
        """A share: "45%" in English, "45 %" in German."""
        if self.locale == SOURCE:
            return f"{share:.0%}"
        return format_percent(share, locale=self.locale)


ENGLISH = Translator(SOURCE, gettext.NullTranslations())


def catalog_path(locale: str) -> Path:
    return LOCALES / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def languages() -> tuple[str, ...]:
    """Every language the bot speaks: English, then each catalog's, sorted."""
    found = sorted(p.name for p in LOCALES.iterdir() if catalog_path(p.name).is_file())
    return (SOURCE, *(code for code in found if code != SOURCE))


def catalog_languages() -> tuple[str, ...]:
    """The languages with a catalog (all but English): one Telegram command menu each."""
    return languages()[1:]


@cache
def translator(locale: str) -> Translator:
    """The Translator for a language the bot speaks (see `languages`); fuzzy and
    untranslated messages fall back to English."""
    if locale == SOURCE:
        return ENGLISH
    if locale not in languages():
        raise ValueError(f"no catalog for {locale!r}: the bot speaks {', '.join(languages())}")
    with catalog_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as pybabel compile does
    compiled.seek(0)
    return Translator(locale, gettext.GNUTranslations(compiled))


def negotiate(code: str | None) -> str | None:
    """The language the bot speaks for a language tag or locale, else None: "de", "de-AT",
    "DE", "de_DE.UTF-8" and "de_CH@euro" are German; "C", "POSIX", "fr" (no catalog) and
    "" are None."""
    language = code_of(code)
    return language if language in languages() else None


def for_reader(reader: str | None, question: str | None = None) -> Translator:
    """The reply's language: the reader's (Telegram's `language_code`, the terminal's
    locale) when the bot speaks it, else the question's when it does, else English."""
    return translator(negotiate(reader) or negotiate(question) or SOURCE)


def locale_language(environ: Mapping[str, str] | None = None) -> str | None:
    """The language of the locale (LC_ALL, then LC_MESSAGES, then LANG: the first one set),
    as a tag to negotiate; None when none is set."""
    env = os.environ if environ is None else environ
    for name in LOCALE_VARIABLES:
        if value := env.get(name):
            return value
    return None
