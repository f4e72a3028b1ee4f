"""/forget end to end: none of the reader's words survive anywhere the bot writes, and the
other readers' data is exactly as it was.

A reader asks in private and in a group, follows up, sends a captioned photo, searches
inline and votes; another reader and an admin (whose /stats lists the reader's questions)
use the bot too. Then the reader sends /forget and confirms.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.config import Settings
from bot.conversation.replies import STATS_LOGGED
from bot.serving.library import Library
from handlers.services import NewsApp, get_services_of
from tests.support.bot import bot_settings, handled, start_bot, stop_bot
from tests.support.emulator.server import BOT_USER, BotApiEmulator
from tests.support.log_scan import find_in_files, find_in_tables, postgres_columns, sqlite_columns

pytestmark = pytest.mark.e2e
READER, OTHER, ADMIN, GROUP = 1001, 2002, 4242, -100500
IN_GROUP = {"chat_id": GROUP, "chat_type": "supergroup", "title": "Newsroom"}
MENTION = f"@{BOT_USER['username']}"
# Everything the reader sends (and how the log names them), each findable on its own.
ASKED = "What do the articles say about the Taliban's spring offensive?"
UNANSWERED = "How many zebras live in the Kabul zoo these days?"
FOLLOW_UP = "and how many prisoners were released?"
COMMAND = "/ask When will the last American soldiers depart Afghanistan?"
IN_THE_GROUP = f"{MENTION} what did Saraj say about the Qatar accord?"
CAPTION = "my holiday snapshot from Herat"
INLINE = "taliban prisoners freed by Kabul"
READERS_WORDS = [
    ASKED,
    UNANSWERED,
    FOLLOW_UP,
    COMMAND,
    COMMAND.removeprefix("/ask "),
    IN_THE_GROUP,
    IN_THE_GROUP.removeprefix(f"{MENTION} "),
    CAPTION,
    INLINE,
    "/forget",
    "reader1001",  # their username and first name, logged with their messages
    "Reader1001",
]


@dataclass
class Scene:
    app: NewsApp
    settings: Settings
    stats_before: str  # the admin's /stats report, sent before the reader's /forget


async def flush(app: NewsApp) -> None:
    await handled(app)


async def press(emulator: BotApiEmulator, message: dict[str, Any], data: str, user: int) -> str:
    query = await emulator.press_button(message["chat"]["id"], message["message_id"], data, user)
    await emulator.wait_until(lambda: query in emulator.callback_answers)
    return str(emulator.callback_answers[query].get("text") or "")


async def said(emulator: BotApiEmulator, chat: int, send: Any) -> dict[str, Any]:
    """Do `send` and return the bot's next message in `chat`."""
    count = len(emulator.sent_to(chat))
    await send
    return (await emulator.wait_for(chat, count + 1))[-1]


async def the_reader_and_others_use_the_bot(app: NewsApp, emulator: BotApiEmulator) -> str:
    """Every kind of row for the reader and for the others; the admin's /stats report."""
    answer = await said(emulator, READER, emulator.send_text(ASKED))
    await press(emulator, answer, "f:up", READER)
    await said(emulator, READER, emulator.send_text(UNANSWERED))
    await said(emulator, READER, emulator.send_text("Taliban prisoners"))
    await said(emulator, READER, emulator.send_text(FOLLOW_UP))
    await said(emulator, READER, emulator.send_text(COMMAND))
    await said(emulator, READER, emulator.send_photo(caption=CAPTION))
    query = await emulator.inline_query(INLINE, user_id=READER)
    await emulator.wait_until(lambda: query in emulator.inline_answers)
    theirs = await said(
        emulator, OTHER, emulator.send_text("When will US troops leave?", chat_id=OTHER)
    )
    await press(emulator, theirs, "f:down", OTHER)
    group_answer = await said(
        emulator, GROUP, emulator.send_text(IN_THE_GROUP, user_id=READER, **IN_GROUP)
    )
    await press(emulator, group_answer, "f:up", OTHER)  # the other reader's vote: theirs
    await said(
        emulator, GROUP, emulator.send_text(f"{MENTION} Taliban", user_id=OTHER, **IN_GROUP)
    )
    query = await emulator.inline_query("qatar accord", user_id=OTHER)
    await emulator.wait_until(lambda: query in emulator.inline_answers)
    report = await said(emulator, ADMIN, emulator.send_command("stats", chat_id=ADMIN))
    await emulator.wait_for(ADMIN, 2)  # the chart
    await flush(app)
    return str(report["text"])


async def the_reader_forgets(app: NewsApp, emulator: BotApiEmulator) -> None:
    prompt = await said(emulator, READER, emulator.send_command("forget"))
    assert await press(emulator, prompt, f"forget:yes:{READER}", READER) == "Deleted."
    await flush(app)


@pytest.fixture(params=["sqlite", "postgresql"])
async def scene(
    request: pytest.FixtureRequest, tmp_path: Path, emulator: BotApiEmulator, seed_library: Library
) -> Any:
    """The bot after the reader, another reader and the admin used it (before /forget), on
    each database."""
    database = (
        {} if request.param == "sqlite" else {"NEWSBOT_DB": request.getfixturevalue("pg_url")}
    )
    settings = bot_settings(tmp_path, emulator, NEWSBOT_ADMIN_IDS=str(ADMIN), **database)
    app = await start_bot(settings, seed_library)
    try:
        yield Scene(app, settings, await the_reader_and_others_use_the_bot(app, emulator))
    finally:
        await stop_bot(app)


def db(settings: Settings) -> Any:
    """A DB-API connection to the log, whichever the database."""
    if settings.db_url is not None:
        return psycopg.connect(settings.db_url, autocommit=True)
    return sqlite3.connect(settings.db_path)


def columns(settings: Settings) -> Any:
    return postgres_columns if settings.db_url is not None else sqlite_columns


def data_folder(settings: Settings) -> Path:
    return settings.pending_path.parent


async def test_no_word_of_the_reader_survives_forget(
    scene: Scene, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """After /forget, none of the reader's messages is in any column of any table, in any
    file under the data folder, or in a log line at INFO and above."""
    assert UNANSWERED in scene.stats_before and ASKED in scene.stats_before  # quoted to the admin
    with db(scene.settings) as before:  # the scan finds each of them before /forget
        found = find_in_tables(before, READERS_WORDS, columns(scene.settings))
        assert {needle for _, _, needle in found} == set(READERS_WORDS) - {"/forget"}
    await the_reader_forgets(scene.app, emulator)
    with db(scene.settings) as after:
        assert find_in_tables(after, READERS_WORDS, columns(scene.settings)) == []
        (stats,) = after.execute(
            "SELECT r.text FROM replies r JOIN messages m ON m.id = r.message_id "
            "WHERE m.text = '/stats'"
        ).fetchall()
    assert stats == (STATS_LOGGED,)
    assert find_in_files(data_folder(scene.settings), READERS_WORDS) == []
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert [w for w in READERS_WORDS if w in logged] == []
    # Reports are recomputed from what is left: the reader's questions are gone from them.
    report = await said(emulator, ADMIN, emulator.send_command("stats", chat_id=ADMIN))
    assert UNANSWERED not in report["text"] and ASKED not in report["text"]
    assert "When will US troops leave?" in report["text"]


def others_rows(settings: Settings) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of the log that is not the reader's, by table."""
    mine = f"(SELECT id FROM messages WHERE user_id = {READER})"
    replies = f"(SELECT id FROM replies WHERE message_id IN {mine})"
    wheres = {
        "users": f"id != {READER}",
        "chats": f"id != {READER}",
        "messages": f"(user_id IS NULL OR user_id != {READER})",
        "replies": f"message_id NOT IN {mine}",
        "hits": f"reply_id NOT IN {replies}",
        "feedback": f"user_id != {READER}",
        "inline_queries": f"user_id != {READER}",
        "topics": f"user_id != {READER}",
        "kept_answers": f"user_id != {READER}",
        "forget_prompts": f"user_id != {READER}",
        "claims": "1 = 1",  # update ids only
        "job_runs": "1 = 1",
        "_migrations": "1 = 1",
    }
    with db(settings) as conn:
        tables = {t for t, _ in columns(settings)(conn)}
        assert tables - {"sqlite_sequence"} == set(wheres)  # a new table needs a rule here
        return {
            t: set(map(tuple, conn.execute(f"SELECT * FROM {t} WHERE {w}").fetchall()))
            for t, w in wheres.items()
        }


async def test_other_readers_data_is_untouched(scene: Scene, emulator: BotApiEmulator) -> None:
    """Every row of the other reader, the admin and the group is exactly as before /forget."""
    before = others_rows(scene.settings)
    assert all(before[t] for t in ("messages", "replies", "hits", "feedback", "inline_queries"))
    assert any(row[0] == GROUP for row in before["chats"])
    await the_reader_forgets(scene.app, emulator)
    assert others_rows(scene.settings) == before
    with db(scene.settings) as conn:
        assert conn.execute(
            f"SELECT count(*) FROM messages WHERE user_id = {READER}"
        ).fetchone() == (0,)


async def test_a_reader_refused_by_the_allowlist_can_forget(
    tmp_path: Path, emulator: BotApiEmulator, seed_library: Library
) -> None:
    """A reader outside NEWSBOT_ALLOWED_CHATS, whose refused messages were logged verbatim,
    can still /forget them: the prompt, their own Yes, and none of their words left."""
    settings = bot_settings(tmp_path, emulator, NEWSBOT_ALLOWED_CHATS=str(OTHER))
    app = await start_bot(settings, seed_library)
    try:
        await emulator.send_text(UNANSWERED, chat_id=READER)
        await emulator.wait_for(READER)  # the one refusal
        await emulator.send_command("forget", chat_id=READER)
        (_, prompt) = await emulator.wait_for(READER, 2)
        assert "cannot be undone" in prompt["text"]
        query = await emulator.press_button(READER, prompt["message_id"], f"forget:yes:{READER}")
        await emulator.wait_until(lambda: query in emulator.callback_answers)
        assert emulator.callback_answers[query]["text"] == "Deleted."
        assert await get_services_of(app).log.flush()
    finally:
        await stop_bot(app)
    with sqlite3.connect(settings.db_path) as db:
        left = db.execute("SELECT count(*) FROM messages WHERE user_id = ?", (READER,))
        assert left.fetchone() == (0,)
    db.close()
