"""Reader and operator features end to end: python-telegram-bot against the Bot API emulator.

More/Back paging, 👍/👎 feedback, inline mode, deep links, /forget, retention, admins and
the allowlist, /stats with its chart, /reload and the folder watch.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.articles import load_collection
from bot.config import Settings
from bot.conversation.replies import FORGET_EXPIRED, NOT_ALLOWED, STALE_BUTTON, UNKNOWN_BUTTON
from bot.serving.library import Library
from bot.storage import ChatRow, ConversationLog, Turn, UserRow
from handlers import retention
from handlers.services import NewsApp, get_services_of
from tests.support.bot import bot_settings, handled, start_bot, stop_bot
from tests.support.emulator.server import BotApiEmulator
from tests.support.emulator.telegram_html import parse_html
from tests.support.paths import SEEDS
from tests.support.waiting import until

pytestmark = pytest.mark.e2e
CHAT = 1001
ADMIN = 4242
QUESTION = "When will all US troops leave Afghanistan?"


def rows(settings: Settings, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(settings.db_path) as db:
        return db.execute(sql, args).fetchall()


async def flush(app: NewsApp) -> None:
    await handled(app)


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    markup = message.get("reply_markup") or {}
    return [
        (b["text"], b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


async def press(
    emulator: BotApiEmulator, message: dict[str, Any], data: str, user: int = CHAT
) -> str:
    """Press a button under `message`; return the pop-up text the bot answered with."""
    query = await emulator.press_button(message["chat"]["id"], message["message_id"], data, user)
    await emulator.wait_until(lambda: query in emulator.callback_answers)
    return str(emulator.callback_answers[query].get("text") or "")


@pytest.fixture
async def app(
    tmp_path: Path, emulator: BotApiEmulator, seed_library: Library
) -> AsyncIterator[NewsApp]:
    settings = bot_settings(tmp_path, emulator, NEWSBOT_ADMIN_IDS=str(ADMIN))
    application = await start_bot(settings, seed_library)
    yield application
    await stop_bot(application)


def refused_calls(emulator: BotApiEmulator) -> list[tuple[str, str]]:
    """Bot API calls the emulator refused, except the admin menu for a chat not started yet."""
    return [e for e in emulator.errors if e != ("setMyCommands", "Bad Request: chat not found")]


def settings_of(app: NewsApp) -> Settings:
    services = get_services_of(app)
    return services.settings


# -- readers -------------------------------------------------------------------------------------


async def test_more_and_back_edit_the_answer_in_place(
    app: NewsApp, emulator: BotApiEmulator
) -> None:
    """More » and « Back edit the same message to the next and previous page of passages."""
    await emulator.send_text(QUESTION)
    (answer,) = await emulator.wait_for(CHAT)
    first_page = answer["_html"]
    assert ("More »", "p:2") in buttons(answer)
    assert ("👍", "f:up") in buttons(answer) and ("👎", "f:down") in buttons(answer)
    assert "Passages 1–3 of" in answer["text"]

    assert await press(emulator, answer, "p:2") == "Page 2 of 2"
    edited = emulator.sent_to(CHAT)[-1]
    assert edited["_edited"] and edited["message_id"] == answer["message_id"]
    assert "Passages 4–" in edited["text"] and ("« Back", "p:1") in buttons(edited)
    assert edited["_html"] != first_page

    assert await press(emulator, answer, "p:1") == "Page 1 of 2"
    assert emulator.sent_to(CHAT)[-1]["_html"] == first_page
    assert len({m["message_id"] for m in emulator.sent_to(CHAT)}) == 1  # never a new message
    assert refused_calls(emulator) == []


async def test_stale_and_forged_buttons_get_a_polite_answer(
    tmp_path: Path, emulator: BotApiEmulator, seed_library: Library
) -> None:
    """Missing pages, forged data and buttons from before a restart get a pop-up, not an error."""
    settings = bot_settings(tmp_path, emulator)
    app = await start_bot(settings, seed_library)
    await emulator.send_text(QUESTION)
    (answer,) = await emulator.wait_for(CHAT)
    assert await press(emulator, answer, "p:9") == STALE_BUTTON  # no such page
    assert await press(emulator, answer, "x" * 80) == UNKNOWN_BUTTON  # not ours / too long
    assert await press(emulator, answer, "p:2;DROP TABLE") == UNKNOWN_BUTTON
    await stop_bot(app)

    # After a restart the answer behind the button is gone: polite notice, no edit, no error.
    app = await start_bot(settings, seed_library)
    sent = len(emulator.sent)
    assert await press(emulator, answer, "p:2") == STALE_BUTTON
    assert len(emulator.sent) == sent
    await stop_bot(app)
    assert refused_calls(emulator) == []


async def test_votes_are_stored_and_can_be_changed(app: NewsApp, emulator: BotApiEmulator) -> None:
    """👍/👎 are acknowledged, a second press changes the vote, and the log keeps the last one."""
    await emulator.send_text(QUESTION)
    (answer,) = await emulator.wait_for(CHAT)
    assert await press(emulator, answer, "f:up") == "Thanks! Marked as helpful."
    assert await press(emulator, answer, "f:up") == "You already marked this answer as helpful."
    assert await press(emulator, answer, "f:down") == "Vote changed: marked as not helpful."
    await flush(app)
    settings = settings_of(app)
    assert rows(settings, "SELECT chat_id, message_id, user_id, vote FROM feedback") == [
        (CHAT, answer["message_id"], CHAT, -1)
    ]
    # The vote joins its reply through the bot's message id.
    joined = rows(
        settings,
        "SELECT m.text, f.vote FROM feedback f JOIN replies r ON r.bot_message_id = f.message_id "
        "JOIN messages m ON m.id = r.message_id AND m.chat_id = f.chat_id",
    )
    assert joined == [(QUESTION, -1)]


async def test_inline_mode_offers_passages_and_newest_articles(
    app: NewsApp, emulator: BotApiEmulator
) -> None:
    """Inline queries offer passages (the newest articles when empty) and are logged."""
    query = await emulator.inline_query("taliban prisoners released")
    await emulator.wait_until(lambda: query in emulator.inline_answers)
    results = emulator.inline_answers[query]["results"]
    assert 1 <= len(results) <= 5
    for result in results:
        assert result["type"] == "article"
        assert result["title"].startswith("Taliban Attacks Upsurge")
        content = result["input_message_content"]
        assert "000_e6af9304790c8bd1.txt · ¶" in parse_html(content["message_text"])
    assert "5,000 prisoners" in " ".join(r["description"] for r in results)

    empty = await emulator.inline_query("")
    await emulator.wait_until(lambda: empty in emulator.inline_answers)
    (newest,) = emulator.inline_answers[empty]["results"]  # the seed collection: one article
    assert newest["description"] == "US orders staff to leave Kabul due to threats"
    await flush(app)
    assert rows(settings_of(app), "SELECT user_id, query, results > 0 FROM inline_queries") == [
        (1001, "taliban prisoners released", 1),
        (1001, "", 1),
    ]
    assert refused_calls(emulator) == []


async def test_edited_messages_are_not_answered_again(
    app: NewsApp, emulator: BotApiEmulator
) -> None:
    """Editing a command or a question that was answered re-runs nothing: no second reply
    and no second row in the log (a polished bot answers each message once)."""
    command = await emulator.send_command("help")
    await emulator.wait_for(CHAT)
    question = await emulator.send_text(QUESTION)
    await emulator.wait_for(CHAT, 2)
    await emulator.edit_text(command, "/sources")
    await emulator.edit_text(question, "How many Taliban prisoners were released?")
    await emulator.send_command("start")  # answered: the edits before it were fetched
    await emulator.wait_for(CHAT, 3)
    await emulator.settle(0.5)
    assert len(emulator.sent_to(CHAT)) == 3
    await flush(app)
    assert rows(settings_of(app), "SELECT count(*) FROM messages") == [(3,)]


async def test_deep_links_open_the_article(app: NewsApp, emulator: BotApiEmulator) -> None:
    """Source titles link to t.me/bot?start=source_N, and /start source_N opens that article."""
    await emulator.send_text(QUESTION)
    (answer,) = await emulator.wait_for(CHAT)
    link = "https://t.me/newsbot_test_bot?start=source_1"
    assert f'<a href="{link}">' in answer["_html"]
    await emulator.send_command("start", "source_1")
    replies = await emulator.wait_for(CHAT, 2)
    assert replies[1]["text"].startswith("Taliban Attacks Upsurge as US Eyes Total Exit")
    assert "¶ 1" in replies[1]["text"]


async def test_forget_deletes_the_user_after_confirmation(
    app: NewsApp, emulator: BotApiEmulator
) -> None:
    """/forget deletes the reader's rows only after their own Yes, once; others' rows stay."""
    await emulator.send_text(QUESTION)
    await emulator.send_text(QUESTION, chat_id=2002)  # another reader, kept
    (answer,) = await emulator.wait_for(CHAT)
    await emulator.wait_for(2002)
    await press(emulator, answer, "f:up")
    query = await emulator.inline_query("troops")
    await emulator.wait_until(lambda: query in emulator.inline_answers)
    await emulator.send_command("forget")
    prompt = (await emulator.wait_for(CHAT, 2))[-1]
    assert "cannot be undone" in prompt["text"]
    yes, no = f"forget:yes:{CHAT}", f"forget:no:{CHAT}"
    assert buttons(prompt) == [("Yes, delete", yes), ("No, keep it", no)]
    await flush(app)
    settings = settings_of(app)
    assert rows(settings, "SELECT count(*) FROM messages WHERE user_id = ?", CHAT) == [(2,)]

    assert await press(emulator, prompt, no) == "Kept."
    assert emulator.sent_to(CHAT)[-1]["text"] == "Nothing was deleted."
    assert await press(emulator, prompt, yes) == FORGET_EXPIRED  # answered already
    assert rows(settings, "SELECT count(*) FROM messages WHERE user_id = ?", CHAT) == [(2,)]
    await emulator.send_command("forget")
    prompt = (await emulator.wait_for(CHAT, 4))[-1]
    # Someone else pressing (as in a group) deletes nothing, theirs or the reader's.
    assert (await press(emulator, prompt, yes, user=2002)).startswith("Only the reader who")
    await flush(app)
    assert rows(settings, "SELECT count(*) FROM messages WHERE user_id = ?", CHAT) == [(3,)]
    assert rows(settings, "SELECT count(*) FROM messages WHERE user_id = 2002") == [(1,)]

    assert await press(emulator, prompt, yes) == "Deleted."
    assert "deleted 3 logged messages" in emulator.sent_to(CHAT)[-1]["text"]
    assert await press(emulator, prompt, yes) == FORGET_EXPIRED  # once only
    await flush(app)
    for sql in (
        "SELECT count(*) FROM messages WHERE user_id = ?",
        "SELECT count(*) FROM feedback WHERE user_id = ?",
        "SELECT count(*) FROM inline_queries WHERE user_id = ?",
        "SELECT count(*) FROM users WHERE id = ?",
        "SELECT count(*) FROM chats WHERE id = ?",
    ):
        assert rows(settings, sql, CHAT) == [(0,)], sql
    assert rows(settings, "SELECT count(*) FROM messages WHERE user_id = 2002") == [(1,)]
    assert rows(settings, "SELECT count(*) FROM hits") != [(0,)]  # the other reader's hits


async def test_retention_purges_old_rows_at_start(
    tmp_path: Path,
    emulator: BotApiEmulator,
    seed_library: Library,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With NEWSBOT_RETENTION_DAYS, rows older than that are deleted soon after start."""
    monkeypatch.setattr(retention, "JOBS_FIRST_S", 0.1)  # not 2 s: the test would idle
    settings = bot_settings(tmp_path, emulator, NEWSBOT_RETENTION_DAYS="30")
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat(timespec="milliseconds")
    new = (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="milliseconds")
    log = ConversationLog(settings.db_path)
    await log.open()
    for n, when in ((1, old), (2, new)):
        log.record(
            Turn(
                chat=ChatRow(n, "private"),
                user=UserRow(n),
                text=f"question {n}",
                kind="question",
                reply="…",
                answered=False,
                latency_ms=1.0,
                received_at=when,
                sent_at=when,
            )
        )
    await log.close()
    app = await start_bot(settings, seed_library)
    try:
        await until(lambda: rows(settings, "SELECT count(*) FROM messages") == [(1,)], timeout=10)
        assert rows(settings, "SELECT text FROM messages") == [("question 2",)]
        assert rows(settings, "SELECT id FROM users") == [(2,)]
    finally:
        await stop_bot(app)


# -- operators -----------------------------------------------------------------------------------


async def test_allowlist_refuses_once_and_logs(
    tmp_path: Path, emulator: BotApiEmulator, seed_library: Library
) -> None:
    """Other chats get one refusal, then silence; every message is logged as refused."""
    settings = bot_settings(
        tmp_path, emulator, NEWSBOT_ALLOWED_CHATS="1001", NEWSBOT_ADMIN_IDS=str(ADMIN)
    )
    app = await start_bot(settings, seed_library)
    try:
        await emulator.send_text(QUESTION, chat_id=3003)
        (refusal,) = await emulator.wait_for(3003)
        assert refusal["text"] == NOT_ALLOWED
        await emulator.send_text("and again?", chat_id=3003)
        await emulator.send_text(QUESTION)  # the allowed chat is answered
        await emulator.wait_for(CHAT)
        await emulator.send_text(QUESTION, chat_id=ADMIN)  # admins are always allowed
        await emulator.wait_for(ADMIN)
        query = await emulator.inline_query("troops", user_id=3003)
        await emulator.wait_until(lambda: query in emulator.inline_answers)
        assert emulator.inline_answers[query]["results"] == []
        await emulator.settle(0.3)
        assert len(emulator.sent_to(3003)) == 1  # one refusal, not one per message
        await flush(app)
        assert rows(settings, "SELECT text, kind FROM messages WHERE chat_id = 3003") == [
            (QUESTION, "refused"),
            ("and again?", "refused"),
        ]
    finally:
        await stop_bot(app)


async def test_inline_answers_are_personal_with_an_allowlist(
    tmp_path: Path, emulator: BotApiEmulator, seed_library: Library
) -> None:
    """With an allowlist, inline results are personal (Telegram must not show one reader's
    results to another, refused, one); without one they may be cached for everyone."""
    for allowlist, personal in (("1001", True), ("", False)):
        settings = bot_settings(tmp_path, emulator, NEWSBOT_ALLOWED_CHATS=allowlist)
        app = await start_bot(settings, seed_library)
        try:
            query = await emulator.inline_query("troops")
            await emulator.wait_until(lambda q=query: q in emulator.inline_answers)
        finally:
            await stop_bot(app)
        answer = emulator.inline_answers[query]
        assert answer["results"], answer
        assert bool(answer.get("is_personal")) is personal, answer


async def test_admin_commands_answer_only_admins(app: NewsApp, emulator: BotApiEmulator) -> None:
    """/stats and /reload are unknown to others; admins see them in /help and their menu."""
    await emulator.send_command("stats")
    (reply,) = await emulator.wait_for(CHAT)
    assert reply["text"] == "I don't know /stats. See /help for what I can do."
    await emulator.send_command("reload")
    assert (await emulator.wait_for(CHAT, 2))[-1]["text"].startswith("I don't know /reload")
    await emulator.send_command("help")
    assert "/stats" not in (await emulator.wait_for(CHAT, 3))[-1]["text"]
    # In a group a non-admin's admin command is ignored like any unknown command.
    await emulator.send_command("stats", chat_id=-100600, chat_type="supergroup", title="Desk")
    await emulator.settle(0.3)
    assert emulator.sent_to(-100600) == []
    await emulator.send_command("help", chat_id=ADMIN)
    assert "/stats" in (await emulator.wait_for(ADMIN))[0]["text"]
    # The admin menu (with /stats and /reload) is set once the admin's chat exists.
    await emulator.send_command("start", chat_id=ADMIN)
    await emulator.wait_for(ADMIN, 2)
    await emulator.settle(0.2)
    (menu,) = emulator.scoped_commands.values()
    assert {"stats", "reload", "ask"} <= {c["command"] for c in menu}
    assert "stats" not in {c["command"] for c in emulator.commands}


async def test_stats_report_and_chart(app: NewsApp, emulator: BotApiEmulator) -> None:
    """/stats reports counts, top and unanswered questions, votes, cited articles, then a chart."""
    for question in (QUESTION, QUESTION.upper(), "What is the capital of France?"):
        await emulator.send_text(question)
    answers = await emulator.wait_for(CHAT, 3)
    await press(emulator, answers[0], "f:up")
    await emulator.send_command("stats", chat_id=ADMIN)
    report, chart = await emulator.wait_for(ADMIN, 2)
    text = report["text"]
    assert "Today: 3 (67%)" in text
    assert "2× When will all US troops leave Afghanistan?" in text
    unanswered = text.split("Top unanswered")[1]
    assert "1× What is the capital of France?" in unanswered
    assert QUESTION not in unanswered.split("Most cited")[0]
    assert "1 👍 / 0 👎 (100% helpful)" in text
    assert "Taliban Attacks Upsurge" in text.split("Most cited articles")[1]
    assert chart["_photo"].startswith(b"\x89PNG\r\n\x1a\n") and len(chart["_photo"]) > 5000
    assert "share answered" in chart["caption"]


async def test_reload_swaps_articles_and_survives_a_broken_file(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """/reload adds articles, names a broken file, stales old buttons, survives an empty folder."""
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    settings = bot_settings(
        tmp_path, emulator, NEWSBOT_ARTICLES_DIR=articles, NEWSBOT_ADMIN_IDS=str(ADMIN)
    )
    app = await start_bot(settings, Library.of(load_collection(articles)))
    try:
        await emulator.send_text(QUESTION, chat_id=2002)
        (old_answer,) = await emulator.wait_for(2002)
        await emulator.send_text("What did the Zorblax council decide?")
        (before,) = await emulator.wait_for(CHAT)
        assert "couldn't find" in before["text"]
        (articles / "010_zorblax.txt").write_text(
            "Zorblax council votes for a new harbour\n\n"
            "The Zorblax council decided on Monday to build a new harbour by 2030.\n",
            encoding="utf-8",
        )
        (articles / "011_broken.txt").write_bytes(b"\x00\x01\x02binary\xff\xfe" * 50)
        await emulator.send_command("reload", chat_id=ADMIN)
        (reply,) = await emulator.wait_for(ADMIN)
        assert "Added (1): Zorblax council votes for a new harbour" in reply["text"]
        assert "Skipped 1 unreadable file: 011_broken.txt" in reply["text"]
        # The answer sent before the reload: its More button is stale now, politely.
        assert await press(emulator, old_answer, "p:2", user=2002) == STALE_BUTTON
        await emulator.send_text("What did the Zorblax council decide?")
        after = (await emulator.wait_for(CHAT, 2))[-1]
        assert "build a new harbour by 2030" in after["text"]
        assert "010_zorblax.txt" in after["text"]

        # Emptying the folder never takes the index down.
        for path in articles.glob("*.txt"):
            path.unlink()
        await emulator.send_command("reload", chat_id=ADMIN)
        failed = (await emulator.wait_for(ADMIN, 2))[-1]
        assert failed["text"].startswith("Reload failed, nothing changed: no readable articles")
        await emulator.send_text(QUESTION)
        assert "Biden" in (await emulator.wait_for(CHAT, 3))[-1]["text"]
    finally:
        await stop_bot(app)


async def test_watch_reloads_when_a_file_changes(tmp_path: Path, emulator: BotApiEmulator) -> None:
    """With NEWSBOT_WATCH=1 a new file in the folder is served without /reload."""
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    settings = bot_settings(tmp_path, emulator, NEWSBOT_ARTICLES_DIR=articles, NEWSBOT_WATCH="1")
    library = Library.of(load_collection(articles))
    app = await start_bot(settings, library)
    try:
        quokka = (
            "Quokka census finds record numbers\n\nRangers counted 12,000 quokkas on the island.\n"
        )
        for _ in range(20):  # written again until the watch, set up in the background, sees it
            (articles / "020_quokka.txt").write_text(quokka, encoding="utf-8")
            with contextlib.suppress(AssertionError):
                await until(lambda: library.generation > 1, timeout=1)
                break
        assert library.generation == 2
        await emulator.send_text("How many quokkas were counted?")
        (reply,) = await emulator.wait_for(CHAT)
        assert "12,000 quokkas" in reply["text"]
    finally:
        await stop_bot(app)
