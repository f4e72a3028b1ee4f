"""The Telegram bot end to end: python-telegram-bot against the local Bot API emulator."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.conversation.command_table import menu
from bot.conversation.replies import SORRY, TEXT_ONLY
from handlers.services import NewsApp
from tests.support.bot import flushed
from tests.support.emulator.server import BOT_USER, TOKEN, BotApiEmulator, Fault
from tests.support.emulator.telegram_html import parse_html
from tests.support.waiting import until

pytestmark = pytest.mark.e2e
CHAT = 1001
GROUP = -100500


def html(message: dict[str, Any]) -> str:
    return str(message["_html"])


def db_rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(settings.db_path) as db:
        return db.execute(sql).fetchall()


async def test_start_greets_and_registers_the_command_menu(
    bot: NewsApp, emulator: BotApiEmulator
) -> None:
    """/start replies with a greeting and examples; setMyCommands listed every command."""
    await emulator.send_command("start")
    (reply,) = await emulator.wait_for(CHAT)
    assert "Hello, Reader1001!" in reply["text"]
    assert "What do the articles say about" in reply["text"]
    assert [(c["command"], c["description"]) for c in emulator.commands] == menu(admin=False)
    assert [c["command"] for c in emulator.commands] == [
        "ask", "new", "sources", "source", "forget", "help", "start"
    ]  # fmt: skip
    assert emulator.errors == []


async def test_question_gets_sourced_passages_typing_and_a_log_row(
    bot: NewsApp, emulator: BotApiEmulator, settings: Settings
) -> None:
    """A private question: verbatim passages with sources, logged with hits."""
    await emulator.send_text("When will all US troops leave Afghanistan?")
    (reply,) = await emulator.wait_for(CHAT)
    assert emulator.chat_actions == []  # answered faster than "typing…" could show
    assert (
        "<b>Earlier this month, President Biden said that all US combat troops would leave "
        "Afghanistan by Sept. 11" in html(reply)
    )
    assert "000_e6af9304790c8bd1.txt · ¶ 6" in reply["text"]
    await flushed(bot)
    assert db_rows(settings, "SELECT kind, text FROM messages") == [
        ("question", "When will all US troops leave Afghanistan?")
    ]
    assert db_rows(settings, "SELECT answered FROM replies") == [(1,)]
    hits = db_rows(settings, "SELECT rank, article_id, paragraph FROM hits ORDER BY rank")
    assert hits[0] == (1, "000_e6af9304790c8bd1", 6)


async def test_unanswerable_question_says_so(
    bot: NewsApp, emulator: BotApiEmulator, settings: Settings
) -> None:
    """No passage answers: a plain 'couldn't find', logged as unanswered."""
    await emulator.send_command("ask", "What is the capital of France?")
    (reply,) = await emulator.wait_for(CHAT)
    assert "couldn't find that in the articles" in reply["text"]
    await flushed(bot)
    assert db_rows(settings, "SELECT answered FROM replies") == [(0,)]
    assert db_rows(settings, "SELECT count(*) FROM hits") == [(0,)]


async def test_help_sources_and_source(bot: NewsApp, emulator: BotApiEmulator) -> None:
    """/help, /sources and /source 1 answer with valid HTML; /source with a bad or missing
    argument (Telegram splits the arguments) gets the clear reply, not an error."""
    for command, arg in (("help", ""), ("sources", ""), ("source", "1")):
        sent = len(emulator.sent_to(CHAT))
        await emulator.send_command(command, arg)
        await emulator.wait_for(CHAT, sent + 1)
    messages = emulator.sent_to(CHAT)
    assert "/sources" in messages[0]["text"]
    assert "1. Taliban Attacks Upsurge" in messages[1]["text"]
    assert "KABUL — The Afghan Taliban" in messages[2]["text"]
    assert "had returned to the battlefield" in messages[2]["text"]
    for n, arg in enumerate(["../etc/passwd", ""], start=len(messages) + 1):
        await emulator.send_command("source", arg)
        assert "(see /sources)" in (await emulator.wait_for(CHAT, n))[-1]["text"]
    assert emulator.errors == []


async def test_unknown_command_and_empty_ask(bot: NewsApp, emulator: BotApiEmulator) -> None:
    """Unknown commands point to /help; /ask alone explains itself."""
    await emulator.send_command("frobnicate")
    await emulator.send_command("ask")
    messages = await emulator.wait_for(CHAT, 2)
    texts = sorted(m["text"] for m in messages)
    assert any("I don't know /frobnicate" in t for t in texts)
    assert any("Put your question after the command" in t for t in texts)


async def test_non_text_messages_get_one_polite_line(
    bot: NewsApp, emulator: BotApiEmulator, settings: Settings
) -> None:
    """Photos, stickers, voice, documents and locations get the text-only hint, logged."""
    kinds = ["photo", "sticker", "voice", "document", "location"]
    for n, kind in enumerate(kinds, start=1):
        await getattr(emulator, f"send_{kind}")()
        assert (await emulator.wait_for(CHAT, n))[-1]["text"] == TEXT_ONLY
    await flushed(bot, len(kinds))
    logged = db_rows(settings, "SELECT kind, text FROM messages ORDER BY telegram_message_id")
    assert logged == [("other", f"[{kind}]") for kind in kinds]


async def test_group_chatter_is_ignored_but_addressed_messages_answered(
    bot: NewsApp, emulator: BotApiEmulator, settings: Settings
) -> None:
    """In a group: silent on chatter and photos; answers /ask, @mentions and replies to the bot."""
    group = {"chat_id": GROUP, "chat_type": "supergroup", "title": "Newsroom"}
    await emulator.send_text("Anyone up for lunch?", **group)
    await emulator.send_photo(**group)
    await emulator.send_text("troops Afghanistan", **group)

    await emulator.send_command(f"ask@{BOT_USER['username']}", "Taliban prisoners", **group)
    (first,) = await emulator.wait_for(GROUP, 1)
    assert "prisoners" in first["text"]
    assert first["reply_to_message"]["text"].startswith("/ask@")

    await emulator.send_text(f"@{BOT_USER['username']} how many prisoners were released?", **group)
    second = (await emulator.wait_for(GROUP, 2))[1]
    assert "5,000 prisoners" in second["text"]

    await emulator.send_text("and Al-Qaeda ties?", reply_to=first["message_id"], **group)
    third = (await emulator.wait_for(GROUP, 3))[2]
    assert "Al-Qaeda" in third["text"]
    await flushed(bot, 3)
    # Three answers later, the chatter sent first has still had no reply.
    replied_to = [m["reply_to_message"]["text"] for m in emulator.sent_to(GROUP)]
    assert len(replied_to) == 3
    assert not {"Anyone up for lunch?", "troops Afghanistan"} & set(replied_to)
    assert db_rows(settings, "SELECT count(*) FROM messages WHERE chat_id = -100500") == [(3,)]
    assert db_rows(settings, "SELECT type, title FROM chats") == [("supergroup", "Newsroom")]


async def test_hostile_text_is_escaped_and_stored_verbatim(
    bot: NewsApp, emulator: BotApiEmulator, settings: Settings
) -> None:
    """HTML-looking and SQL-looking questions are escaped in replies and stored as sent."""
    nasty = "<b>Taliban</b> & '); DROP TABLE messages;-- \u202e\u200b 🙂"
    await emulator.send_text(nasty)
    (reply,) = await emulator.wait_for(CHAT)
    parse_html(html(reply))
    await emulator.send_text("x" * 5000 + " Taliban")
    await emulator.wait_for(CHAT, 2)
    assert emulator.errors == []
    await flushed(bot, 2)
    stored = [t for (t,) in db_rows(settings, "SELECT text FROM messages ORDER BY id")]
    assert stored[0] == nasty


async def test_failed_send_gets_an_apology_and_is_still_logged(
    bot: NewsApp, emulator: BotApiEmulator, settings: Settings
) -> None:
    """A Telegram error while replying: the user gets a short apology, no traceback; logged."""
    emulator.inject("sendMessage", Fault(status=400, description="Bad Request: something odd"))
    await emulator.send_text("Taliban prisoners")
    (reply,) = await emulator.wait_for(CHAT)
    assert reply["text"] == SORRY
    await flushed(bot, 2)  # the turn recorded before the send, then the apology replacing it
    assert db_rows(
        settings, "SELECT m.kind, r.text FROM messages m JOIN replies r ON r.message_id = m.id"
    ) == [("error", SORRY)]


async def test_concurrent_users_each_get_their_answer(
    bot: NewsApp, emulator: BotApiEmulator, settings: Settings
) -> None:
    """Twenty readers at once: each gets one reply and each turn is logged."""
    users = range(5000, 5020)
    await asyncio.gather(*(emulator.send_text("Taliban prisoners", chat_id=u) for u in users))
    await emulator.wait_until(lambda: all(emulator.sent_to(u) for u in users), timeout=30)
    await flushed(bot, 20)
    assert db_rows(settings, "SELECT count(DISTINCT chat_id) FROM messages") == [(20,)]


async def test_edited_messages_and_other_updates_are_ignored(
    bot: NewsApp, emulator: BotApiEmulator
) -> None:
    """An edited message does not trigger a second answer."""
    message = await emulator.send_text("Taliban prisoners")
    await emulator.wait_for(CHAT, 1)
    await emulator.push_update(
        {"edited_message": dict(message, edit_date=message["date"] + 1, text="Qatar accord")}
    )
    await emulator.settle(0.5)
    assert len(emulator.sent_to(CHAT)) == 1


async def test_token_never_in_database(
    bot: NewsApp, emulator: BotApiEmulator, settings: Settings
) -> None:
    """The database holds no trace of the bot token."""
    await emulator.send_text("Taliban")
    await emulator.wait_for(CHAT, 1)
    await flushed(bot)
    assert TOKEN.encode() not in await asyncio.to_thread(Path(settings.db_path).read_bytes)


async def test_follow_up_typo_and_new_through_telegram(
    bot: NewsApp, emulator: BotApiEmulator
) -> None:
    """A follow-up is read with the previous question, /new forgets it, typos are announced."""
    await emulator.send_text("Taliban prisoners")
    await emulator.wait_for(CHAT, 1)
    await emulator.send_text("and how many were released?")
    follow = (await emulator.wait_for(CHAT, 2))[1]
    assert follow["text"].startswith("Following on from “Taliban prisoners”")
    assert "5,000 prisoners already released" in follow["text"]
    await emulator.send_command("new")
    fresh = (await emulator.wait_for(CHAT, 3))[2]
    assert "Fresh start" in fresh["text"]
    await emulator.send_text("When will US trops leave Afganistan?")
    fixed = (await emulator.wait_for(CHAT, 4))[3]
    assert fixed["text"].startswith("Showing results for “When will US troops leave Afghanistan?”")
    assert emulator.errors == []


async def test_slow_answer_shows_typing(
    bot: NewsApp, emulator: BotApiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When an answer takes longer than the threshold, the reader sees "typing…" first."""
    from handlers import delivery

    monkeypatch.setattr(delivery, "TYPING_AFTER_S", 0.0)
    await emulator.send_text("Taliban prisoners")
    await emulator.wait_for(CHAT, 1)
    assert emulator.chat_actions == [(CHAT, "typing")]


async def test_reload_notices_a_front_matter_only_edit(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """An edit of only an article's url:/outlet: is an update: /reload names it and answers
    cite the new address and outlet."""
    from bot.articles import load_collection
    from bot.serving.library import Library
    from tests.support.bot import bot_settings, start_bot, stop_bot

    admin = 4242
    articles = tmp_path / "articles"
    articles.mkdir()
    story = articles / "harbour.md"
    story.write_text(
        "---\nurl: https://old.example/harbour\noutlet: Old Gazette\n---\n"
        "Harbour reopens\n\nThe harbour reopened on Monday after the storm.\n"
    )
    settings = bot_settings(
        tmp_path, emulator, NEWSBOT_ARTICLES_DIR=articles, NEWSBOT_ADMIN_IDS=str(admin)
    )
    app = await start_bot(settings, Library.of(load_collection(articles)))
    try:
        story.write_text(
            story.read_text()
            .replace("old.example", "new.example")
            .replace("Old Gazette", "New Herald")
        )
        await emulator.send_command("reload", chat_id=admin)
        (reply,) = await emulator.wait_for(admin)
        assert "Updated (1): Harbour reopens" in reply["text"]
        await emulator.send_text("When did the harbour reopen?")
        (answer,) = await emulator.wait_for(CHAT)
        assert "https://new.example/harbour" in html(answer)
        assert "New Herald" in answer["text"]
    finally:
        await stop_bot(app)


async def test_watch_follows_the_articles_folder_swapped_by_renames(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """NEWSBOT_WATCH: after `mv articles articles.old; mv articles.new articles` the new
    folder is served, and a file written into it later is picked up too."""
    import shutil

    from bot.articles import load_collection
    from bot.serving.library import Library
    from tests.support.bot import bot_settings, start_bot, stop_bot
    from tests.support.paths import SEEDS

    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    settings = bot_settings(tmp_path, emulator, NEWSBOT_ARTICLES_DIR=articles, NEWSBOT_WATCH="1")
    library = Library.of(load_collection(articles))
    app = await start_bot(settings, library)
    try:
        for n in range(1, 100):  # until the watch is live: a probe file it reloads
            (articles / "probe.txt").write_text(f"Probe {n}\n\nThe probe landed {n} times.\n")
            with contextlib.suppress(AssertionError):
                await until(lambda: library.generation >= 2, timeout=2)
                break
        assert library.generation >= 2
        fresh = tmp_path / "articles.new"
        fresh.mkdir()
        (fresh / "quokka.txt").write_text("Quokkas\n\nRangers counted 12,000 quokkas.\n")
        articles.rename(tmp_path / "articles.old")
        fresh.rename(articles)
        await until(lambda: [a.id for a in library.collection.articles] == ["quokka"])
        (articles / "zebra.txt").write_text("Zebras\n\nThe zebras escaped on Tuesday.\n")
        await until(lambda: len(library.collection.articles) == 2)
        await emulator.send_text("When did the zebras escape?")
        (reply,) = await emulator.wait_for(CHAT)
        assert "The zebras escaped on Tuesday" in reply["text"]
    finally:
        await stop_bot(app)
