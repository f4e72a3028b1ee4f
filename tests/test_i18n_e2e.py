"""The reader's language end to end: python-telegram-bot against the local Bot API emulator,
readers with and without a Telegram language_code, and the command menus per language."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from telegram import BotCommand

import bot.conversation.conversation as conversation_module
from bot.articles import load_collection
from bot.conversation.command_table import menu
from bot.conversation.render import NO_ANSWER
from bot.conversation.replies import TEXT_ONLY
from bot.i18n.catalogs import translator
from bot.retrieval.answer import Answer
from bot.retrieval.search import SearchIndex
from bot.serving.library import Edition, Library
from handlers.services import NewsApp
from tests.support.bot import bot_settings, start_bot, stop_bot
from tests.support.emulator.server import BotApiEmulator
from tests.support.paths import SEEDS

pytestmark = pytest.mark.e2e
CHAT = 1001
GERMAN = translator("de")
UNANSWERABLE = "What is the capital of France?"

GERMAN_ARTICLE = """\
Bundestag beschließt neues Heizungsgesetz nach monatelangem Streit

Die Koalition einigt sich auf Übergangsfristen für Hausbesitzer


BERLIN — Der Bundestag hat am Freitag das umstrittene Gebäudeenergiegesetz beschlossen. \
Für das Gesetz stimmten 399 Abgeordnete, dagegen 275, es gab fünf Enthaltungen.

Von 2024 an soll jede neu eingebaute Heizung zu mindestens 65 Prozent mit erneuerbaren \
Energien betrieben werden. Für bestehende Gebäude gelten lange Übergangsfristen.

Die Opposition kritisierte das Gesetz als überhastet und sozial unausgewogen. Der \
Bundesrat soll sich im September mit dem Gesetz befassen.
"""


async def send(emulator: BotApiEmulator, kind: str, *args: str) -> dict[str, Any]:
    """Send a command, a text or a sticker from the reader in CHAT; the bot's reply."""
    count = len(emulator.sent_to(CHAT)) + 1
    if kind == "command":
        await emulator.send_command(*args)
    elif kind == "text":
        await emulator.send_text(*args)
    else:
        await emulator.send_sticker()
    return (await emulator.wait_for(CHAT, count))[-1]


async def test_a_german_reader_gets_every_fixed_line_in_german(
    bot: NewsApp, emulator: BotApiEmulator
) -> None:
    """language_code "de": /start, /help, the sticker reply and the not-found reply in German."""
    emulator.languages[CHAT] = "de"
    start = await send(emulator, "command", "start")
    assert start["text"].startswith("Hallo, Reader1001! Ich beantworte Fragen zu 1 ")
    assert "Schick mir einfach eine Frage, zum Beispiel:" in start["text"]
    help_text = (await send(emulator, "command", "help"))["text"]
    assert help_text.startswith("So fragst du\nSchick eine Frage in einfachen Worten.")
    assert "/sources — Die Artikel auflisten, die ich zitieren kann" in help_text
    sticker = await send(emulator, "sticker")
    assert sticker["text"] == GERMAN.gettext(TEXT_ONLY) != TEXT_ONLY
    not_found = await send(emulator, "text", UNANSWERABLE)
    assert not_found["text"] == (
        "Dazu habe ich in den Artikeln nichts gefunden. Versuch es mit anderen Worten, "
        "oder sieh mit /sources nach, worum es in ihnen geht."
    )
    assert emulator.errors == []


async def test_an_english_reader_gets_exactly_todays_english(
    bot: NewsApp, emulator: BotApiEmulator
) -> None:
    """language_code "en": the same fixed lines word for word as before the catalogs."""
    start = await send(emulator, "command", "start")
    assert start["text"].startswith(
        "Hello, Reader1001! I answer questions about 1 news article with passages quoted word "
        "for word, each with its source.\n\nJust send me a question, for example:\n"
    )
    help_text = (await send(emulator, "command", "help"))["text"]
    assert help_text.startswith("How to ask\nSend a question in plain words.")
    assert "/sources — List the articles I can quote" in help_text
    assert (await send(emulator, "sticker"))["text"] == (
        "I can only read text: send me a question about the articles in words, "
        "or see what they cover with /sources."
    )
    assert (
        (await send(emulator, "text", UNANSWERABLE))["text"]
        == NO_ANSWER
        == (
            "I couldn't find that in the articles. Try other words, or see what they cover with "
            "/sources."
        )
    )


async def test_a_german_readers_buttons_answer_in_german(
    bot: NewsApp, emulator: BotApiEmulator
) -> None:
    """language_code "de-AT": the vote's pop-up and a stale button's notice are German."""
    emulator.languages[CHAT] = "de-AT"
    answered = await send(emulator, "text", "When will all US troops leave Afghanistan?")
    query = await emulator.press_button(CHAT, answered["message_id"], "f:up")
    await emulator.wait_until(lambda: query in emulator.callback_answers)
    assert emulator.callback_answers[query]["text"] == "Danke! Als hilfreich markiert."
    stale = await emulator.press_button(CHAT, answered["message_id"], "nonsense")
    await emulator.wait_until(lambda: stale in emulator.callback_answers)
    assert emulator.callback_answers[stale]["text"] == (
        "Dieser Knopf funktioniert nicht mehr: Bitte frag noch einmal."
    )


async def test_no_language_code_follows_the_questions_language(
    bot: NewsApp, emulator: BotApiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No language_code: the reply is in the question's language as retrieval read it
    (Answer.language, here set to "de"), and retrieval had no hint."""
    hints: list[str | None] = []
    real = conversation_module.answer

    def german(*args: Any, **kwargs: Any) -> Answer:
        hints.append(kwargs.get("hint"))
        return replace(real(*args, **kwargs), language="de")

    monkeypatch.setattr(conversation_module, "answer", german)
    emulator.languages[CHAT] = None
    assert (await send(emulator, "text", UNANSWERABLE))["text"] == GERMAN.gettext(NO_ANSWER)
    emulator.languages[CHAT] = "de"
    await send(emulator, "text", UNANSWERABLE)
    assert hints == [None, "de"]


async def test_a_german_question_without_language_code_gets_german(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """No language_code, German articles and a German question they do not answer: the
    reply says so in German."""
    folder = tmp_path / "artikel"
    folder.mkdir()
    (folder / "heizungsgesetz.txt").write_text(GERMAN_ARTICLE, encoding="utf-8")
    collection = load_collection(folder)
    library = Library(Edition.of(collection, SearchIndex(collection)))
    app = await start_bot(bot_settings(tmp_path, emulator, NEWSBOT_ARTICLES_DIR=folder), library)
    try:
        emulator.languages[CHAT] = None
        reply = await send(emulator, "text", "Wie hoch ist die Arbeitslosigkeit in Bayern?")
    finally:
        await stop_bot(app)
    assert "in den Artikeln" in reply["text"]


async def test_the_command_menu_is_registered_in_every_language(
    bot: NewsApp, emulator: BotApiEmulator
) -> None:
    """getMyCommands: English by default, German for language_code "de", none set for "fr"
    (Telegram then shows the default)."""
    english = await bot.bot.get_my_commands()
    german = await bot.bot.get_my_commands(language_code="de")
    assert [(c.command, c.description) for c in english] == menu(admin=False)
    assert [(c.command, c.description) for c in german] == menu(admin=False, tr=GERMAN)
    assert BotCommand("sources", "Die Artikel auflisten, die ich zitieren kann") in german
    assert await bot.bot.get_my_commands(language_code="fr") == ()


async def test_a_mixed_collection_answers_each_reader_from_their_language(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """The seed (English) and a German article in one folder: a German reader's German
    question is answered from the German article, in German; an English reader's question
    about the seed from the seed, in English."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "heizungsgesetz.txt").write_text(GERMAN_ARTICLE, encoding="utf-8")
    seed = next(SEEDS.glob("*.txt"))
    (folder / seed.name).write_bytes(seed.read_bytes())
    collection = load_collection(folder)
    library = Library(Edition.of(collection, SearchIndex(collection)))
    app = await start_bot(bot_settings(tmp_path, emulator, NEWSBOT_ARTICLES_DIR=folder), library)
    try:
        emulator.languages[CHAT] = "de"
        german = await send(emulator, "text", "Wie viele Abgeordnete stimmten fuer das Gesetz?")
        emulator.languages[CHAT] = "en"
        english = await send(emulator, "text", "When will US troops leave Afghanistan?")
    finally:
        await stop_bot(app)
    assert "399 Abgeordnete" in german["text"] and "heizungsgesetz.txt" in german["text"]
    assert "Taliban" not in german["text"]
    assert "Sept. 11" in english["text"] and seed.name in english["text"]
    assert "Bundestag" not in english["text"]
