"""The catalogs against the code (complete, current, shipped), the choice of a reply's language,
and German replies as the core writes them."""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.conversation import replies
from bot.conversation.command_table import COMMANDS, Request, handle_line, menu
from bot.conversation.conversation import Conversation
from bot.conversation.render import NO_ANSWER
from bot.i18n.catalogs import (
    ENGLISH,
    LOCALES,
    catalog_languages,
    catalog_path,
    for_reader,
    languages,
    locale_language,
    negotiate,
    translator,
)
from bot.serving.library import Changes
from bot.storage.state import ConversationKey
from tests.support.emulator.telegram_html import parse_html
from tests.support.paths import ROOT

EXTRACTED = ("bot", "handlers", "newsbot")  # the folders `pybabel extract` reads (README)
COMMENT_TAGS = ("TRANSLATORS:",)
KEYWORDS = {"_", "gettext", "ngettext", "N_"}
WHO = ConversationKey(1, 1)
GERMAN = translator("de")


def extract() -> dict[str, Message]:
    """The messages in the code now, as `pybabel extract -F babel.cfg` finds them."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    catalog = Catalog()
    for folder in EXTRACTED:
        for _, _, message, comments, context in extract_from_dir(
            ROOT / folder, method_map, options_map, comment_tags=COMMENT_TAGS
        ):
            catalog.add(message, None, auto_comments=comments, context=context)
    return {key_of(m): m for m in catalog if m.id}


def key_of(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=locale)


def forms(message: Message) -> list[str]:
    """A translation's forms (one, or one per plural form)."""
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def sources(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple) else [message.id]


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{\w*\}", text))


def tags(text: str) -> list[str]:
    return sorted(re.findall(r"</?\w+>", text))


def test_the_template_is_what_the_code_holds() -> None:
    """newsbot.pot lists exactly the messages the code marks (run `pybabel extract` when not),
    with their plural forms and translator comments."""
    template = {key_of(m): m for m in read(LOCALES / "newsbot.pot") if m.id}
    code = extract()
    assert sorted(set(code) - set(template)) == [], "new messages: run pybabel extract"
    assert sorted(set(template) - set(code)) == [], "messages gone: run pybabel extract"
    for key, message in code.items():
        assert template[key].id == message.id, key
        assert template[key].auto_comments == message.auto_comments, key


@pytest.mark.parametrize("locale", catalog_languages())
def test_every_catalog_translates_every_message(locale: str) -> None:
    """Every message of the template is translated (no fuzzy or empty entry, every plural
    form), keeping its {placeholders} and HTML tags; nothing stale is left in."""
    template = {key_of(m): m for m in read(LOCALES / "newsbot.pot") if m.id}
    catalog = read(catalog_path(locale), locale)
    translated = {key_of(m): m for m in catalog if m.id}
    assert sorted(set(template) - set(translated)) == [], "untranslated: run pybabel update"
    assert sorted(set(translated) - set(template)) == [], "stale entries: run pybabel update"
    for key, message in translated.items():
        assert not message.fuzzy, f"fuzzy: {key!r}"
        assert all(forms(message)), f"untranslated: {key!r}"
        if message.pluralizable:
            assert len(forms(message)) == catalog.num_plurals, key
        for text in forms(message):
            assert placeholders(text) == placeholders(sources(message)[-1]), (key, text)
            assert tags(text) == tags(sources(message)[0]), (key, text)


def code_files() -> Iterator[Path]:
    for folder in EXTRACTED:
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_no_message_is_marked_inside_an_f_string() -> None:
    """The extractor does not look inside f-strings: a gettext call there would never reach
    the catalogs."""
    hidden = []
    for path in code_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.JoinedStr):
                continue
            for inner in ast.walk(node):
                func = inner.func if isinstance(inner, ast.Call) else None
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name in KEYWORDS:
                    hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert hidden == []


def test_the_catalogs_ship_in_the_package() -> None:
    """pyproject's package-data for bot.i18n covers the template and every catalog (a wheel
    and a fresh `pip install` need no compile step: the .po files are read as they are)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["bot.i18n"]
    package = ROOT / "bot" / "i18n"
    shipped = {p for pattern in patterns for p in package.glob(pattern)}
    assert LOCALES / "newsbot.pot" in shipped
    for locale in catalog_languages():
        assert catalog_path(locale) in shipped
    dependencies = " ".join(pyproject["project"]["dependencies"])
    assert "babel>=" in dependencies


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("de", "de"),
        ("de-AT", "de"),
        ("DE", "de"),
        ("de_DE.UTF-8", "de"),
        ("de_CH@euro", "de"),
        ("en", "en"),
        ("en-US", "en"),
        ("fr", None),
        ("pt-br", None),
        ("C", None),
        ("C.UTF-8", None),
        ("POSIX", None),
        ("", None),
        (None, None),
    ],
)
def test_language_tags_and_locales_are_negotiated(code: str | None, expected: str | None) -> None:
    """A Telegram language_code or a locale names a language the bot speaks, or none."""
    assert negotiate(code) == expected


def test_the_reader_comes_first_then_the_question_then_english() -> None:
    """The reader's language when the bot speaks it; else the question's; else English."""
    assert languages() == ("en", "de")
    assert for_reader("de", "en") is GERMAN
    assert for_reader("en", "de") is ENGLISH
    assert for_reader("fr", "de") is GERMAN
    assert for_reader(None, "de") is GERMAN
    assert for_reader("fr", "it") is ENGLISH
    assert for_reader(None) is ENGLISH


def test_the_terminal_reads_lc_all_then_lc_messages_then_lang() -> None:
    """The first locale variable set decides, as gettext's order has it."""
    assert locale_language({"LANG": "de_DE.UTF-8"}) == "de_DE.UTF-8"
    assert locale_language({"LC_MESSAGES": "de_AT", "LANG": "en_US.UTF-8"}) == "de_AT"
    assert locale_language({"LC_ALL": "C", "LANG": "de_DE.UTF-8"}) == "C"
    assert locale_language({"LC_ALL": "", "LANG": "de_DE.UTF-8"}) == "de_DE.UTF-8"
    assert locale_language({}) is None


def test_german_counts_use_the_catalogs_plural_forms() -> None:
    """One and many each have their own German sentence; numbers are written the German way."""
    assert "1 protokollierte Nachricht von dir" in replies.forgotten(1, GERMAN).messages[0]
    assert "2 protokollierte Nachrichten von dir" in replies.forgotten(2, GERMAN).messages[0]
    skipped = Changes(skipped=(("x", "a"), ("y", "b")), total=1234)
    text = "\n".join(replies.reloaded(skipped, GERMAN).messages)
    assert "Keine Änderungen: 1.234 Artikel, wie bisher." in text
    assert "2 unlesbare Dateien übersprungen: x (a); y (b)" in text
    assert replies.vote_notice(None, 1, GERMAN).notice == "Danke! Als hilfreich markiert."


async def test_german_replies_are_valid_telegram_html(seed_room: Conversation) -> None:
    """/start, /help (an admin's), /sources, /source, /forget and the closest passages in
    German parse as Telegram HTML and hold no English fixed line."""
    request = Request("", WHO, first_name="Anna", admin=True, language="de")
    by_name = {c.name: c for c in COMMANDS}
    sent = []
    for name, arg in (("start", ""), ("help", ""), ("sources", ""), ("source", "1 9")):
        sent += (await by_name[name].call(seed_room, replace(request, arg=arg))).messages
    sent += replies.forget_prompt(1, GERMAN).messages
    question = "What did President Karzai say about the Taliban troops withdrawal?"
    sent += (await seed_room.ask(question, WHO, "de")).messages
    for message in sent:
        parse_html(message)
    text = "\n".join(sent)
    assert "Hallo, Anna! Ich beantworte Fragen zu 1 Nachrichtenartikel" in text
    assert "<b>So fragst du</b>" in text and "<b>Admin-Befehle</b>" in text
    assert "/forget — Alles löschen, was über dich protokolliert ist" in text
    assert "<b>Quellen</b> (1 Artikel)" in text
    assert "Artikel 1 hat 1 Seite: Versuch /source 1 1." in text
    assert "aber nicht „President Karzai“:" in text
    for english in ("Hello", "How to ask", "Sources", "Delete it all?", "couldn't"):
        assert english not in text


async def test_the_terminal_chat_speaks_the_readers_language(seed_room: Conversation) -> None:
    """A line typed in the terminal, with its language: German replies, English without."""
    (german,) = (
        await handle_line(seed_room, "What is the capital of France?", WHO, "de")
    ).messages
    assert german == GERMAN.gettext(NO_ANSWER) != NO_ANSWER
    assert (await handle_line(seed_room, "/nope", WHO, "de_DE.UTF-8")).messages == (
        "Den Befehl /nope kenne ich nicht. Unter /help steht, was ich kann.",
    )
    assert (await handle_line(seed_room, "/nope", WHO)).messages == (
        "I don't know /nope. See /help for what I can do.",
    )


def test_every_menu_description_is_translated_and_fits_telegram() -> None:
    """Each language's menu has the same commands, every description its own, 1-256 chars."""
    english = menu(admin=True)
    for locale in catalog_languages():
        translated = menu(admin=True, tr=translator(locale))
        assert [n for n, _ in translated] == [n for n, _ in english]
        for (_, theirs), (_, ours) in zip(translated, english, strict=True):
            assert theirs != ours and 1 <= len(theirs) <= 256
