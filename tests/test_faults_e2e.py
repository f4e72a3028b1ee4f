"""Telegram faults, injected by the emulator: the bot recovers, answers once, leaks nothing.

Each case breaks `getUpdates` or `sendMessage` a few times (flood control, 5xx, responses
slower than the client's timeout, dropped connections) while five readers ask at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.conversation.replies import SORRY
from bot.serving.library import Library
from bot.storage import ChatRow, Turn, UserRow, pending
from handlers.services import NewsApp, get_services_of
from tests.support.bot import bot_settings, flushed, start_bot, stop_bot
from tests.support.emulator.server import TOKEN, BotApiEmulator, Fault
from tests.support.waiting import until

pytestmark = pytest.mark.e2e
READERS = [7001, 7002, 7003, 7004, 7005]
QUESTION = "How many Taliban prisoners were released?"
TIMEOUT_S = 1.0  # NEWSBOT_TELEGRAM_TIMEOUT in these tests: "slow" means slower than this

FAULTS: dict[str, Fault] = {
    "flood-429": Fault(status=429, description="Too Many Requests: retry after 1", retry_after=1),
    "internal-500": Fault(status=500, description="Internal Server Error"),
    "bad-gateway-502": Fault(status=502, description="Bad Gateway"),
    "dropped": Fault(status=0, drop=True),
}


def settings_for(tmp_path: Path, emulator: BotApiEmulator) -> Settings:
    return bot_settings(tmp_path, emulator, NEWSBOT_TELEGRAM_TIMEOUT=str(TIMEOUT_S))


async def ask_all(emulator: BotApiEmulator) -> None:
    await asyncio.gather(*(emulator.send_text(QUESTION, chat_id=c) for c in READERS))


async def answered_once_and_logged(
    app: NewsApp, emulator: BotApiEmulator, settings: Settings, timeout: float = 20
) -> list[dict[str, Any]]:
    """Every reader got exactly one message, and every turn reached the log."""
    for chat in READERS:
        await emulator.wait_for(chat, 1, timeout=timeout)
    await emulator.settle(1.2)  # long enough for a duplicate to show up
    replies = [emulator.sent_to(chat) for chat in READERS]
    assert [len(r) for r in replies] == [1] * len(READERS), replies
    await flushed(app, len(READERS))
    with sqlite3.connect(settings.db_path) as db:
        logged = db.execute("SELECT chat_id FROM messages ORDER BY chat_id").fetchall()
    assert logged == [(c,) for c in READERS]
    return [r[0] for r in replies]


@pytest.mark.parametrize("method", ["getUpdates", "sendMessage"])
@pytest.mark.parametrize("name", list(FAULTS))
async def test_recovers_from_a_fault_and_answers_each_question_once(
    tmp_path: Path,
    emulator: BotApiEmulator,
    seed_library: Library,
    method: str,
    name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The fault hits twice while five readers ask: each gets one reply, every turn is
    logged, and no log line has the token or a traceback."""
    caplog.set_level(logging.DEBUG)  # httpx request lines (with URLs) included
    settings = settings_for(tmp_path, emulator)
    app = await start_bot(settings, seed_library)
    try:
        fault = FAULTS[name]
        emulator.inject(
            method,
            Fault(fault.status, fault.description, fault.retry_after, fault.delay, fault.drop, 2),
        )
        await ask_all(emulator)
        replies = await answered_once_and_logged(app, emulator, settings)
        assert all("5,000 prisoners" in r["text"] for r in replies)
        assert not emulator.faults.get(method), "the fault was never hit"
    finally:
        await stop_bot(app)
    assert TOKEN not in caplog.text
    assert "Traceback" not in "\n".join(r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("method", ["getUpdates", "sendMessage"])
async def test_slower_than_the_timeout_is_answered_once(
    tmp_path: Path, emulator: BotApiEmulator, seed_library: Library, method: str
) -> None:
    """A response slower than the client timeout: Telegram still acts on the call, so a
    timed-out send must not be repeated, and a timed-out getUpdates is asked again."""
    settings = settings_for(tmp_path, emulator)
    app = await start_bot(settings, seed_library)
    try:
        # getUpdates may take its long-poll time (1 s here) on top of the timeout.
        delay = TIMEOUT_S + (2.0 if method == "getUpdates" else 0.6)
        emulator.inject(method, Fault(status=0, delay=delay, times=1))
        await ask_all(emulator)
        await answered_once_and_logged(app, emulator, settings)
    finally:
        await stop_bot(app)


async def test_a_reply_that_cannot_be_sent_becomes_one_apology(
    tmp_path: Path, emulator: BotApiEmulator, seed_library: Library
) -> None:
    """sendMessage failing more often than the retries: one apology, the turn logged."""
    settings = settings_for(tmp_path, emulator)
    app = await start_bot(settings, seed_library)
    try:
        emulator.inject("sendMessage", Fault(status=500, times=4))
        await emulator.send_text(QUESTION, chat_id=READERS[0])
        (reply,) = await emulator.wait_for(READERS[0], timeout=20)
        assert reply["text"] == SORRY
        await emulator.settle(1.2)
        assert len(emulator.sent_to(READERS[0])) == 1
        await flushed(app, 2)  # the turn recorded before the send, then the apology
        with sqlite3.connect(settings.db_path) as db:
            assert db.execute(
                "SELECT m.kind, r.text FROM messages m JOIN replies r ON r.message_id = m.id"
            ).fetchall() == [("error", SORRY)]
    finally:
        await stop_bot(app)


async def test_updates_already_logged_are_not_answered_again(
    tmp_path: Path, emulator: BotApiEmulator, seed_library: Library
) -> None:
    """After a crash Telegram re-sends the last unconfirmed batch: logged ones are skipped."""
    settings = settings_for(tmp_path, emulator)
    app = await start_bot(settings, seed_library)
    await emulator.send_text(QUESTION, chat_id=READERS[0])
    await emulator.wait_for(READERS[0])
    await stop_bot(app)
    # The crash: the emulator forgets that the update was confirmed, and re-sends it.
    emulator._confirmed = 0
    app = await start_bot(settings, seed_library)
    try:
        await emulator.send_text(QUESTION, chat_id=READERS[1])
        await emulator.wait_for(READERS[1])
        await emulator.settle(0.8)
        assert len(emulator.sent_to(READERS[0])) == 1
    finally:
        await stop_bot(app)


async def test_locked_database_does_not_stop_replies_and_loses_no_row(
    tmp_path: Path, emulator: BotApiEmulator, seed_library: Library
) -> None:
    """Another process holds the log's write lock: readers are still answered; the turns are
    written once the lock clears; what is still locked at shutdown waits in a side file."""
    settings = settings_for(tmp_path, emulator)
    app = await start_bot(settings, seed_library)
    # Taking the lock waits for a commit of the bot's in flight (a delivery mark after the
    # retry): with no wait, the second BEGIN EXCLUSIVE failed when it met one (CI, loaded).
    blocker = sqlite3.connect(settings.db_path, timeout=5)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        await ask_all(emulator)
        for chat in READERS:
            await emulator.wait_for(chat)  # answered while the database is locked
        services = get_services_of(app)
        await until(lambda: services.log.queued == len(READERS))
        assert services.log.written == 0
        blocker.rollback()  # the lock clears: the writer's retry lands the rows
        await until(lambda: services.log.queued == 0, timeout=10)
        assert services.log.written == len(READERS)

        blocker.execute("BEGIN EXCLUSIVE")  # locked again, through shutdown
        await emulator.send_text(QUESTION, chat_id=READERS[0])
        await emulator.wait_for(READERS[0], 2)
        await until(lambda: services.log.queued == 1)  # queued, not written: locked
    finally:
        await stop_bot(app)
        blocker.rollback()
        blocker.close()
    pending = settings.db_path.with_name(settings.db_path.name + ".pending.jsonl")
    # The turn asked while locked waits there (so may the delivery marks of the turns before
    # it, queued when the lock came back).
    kinds = [json.loads(line)["type"] for line in pending.read_text(encoding="utf-8").splitlines()]
    assert kinds.count("turn") == 1 and set(kinds) <= {"turn", "delivery"}
    app = await start_bot(settings, seed_library)  # the next start writes it
    try:
        services = get_services_of(app)
        assert await services.log.flush()
    finally:
        await stop_bot(app)
    with sqlite3.connect(settings.db_path) as db:
        assert db.execute("SELECT count(*) FROM messages").fetchone() == (len(READERS) + 1,)
    assert not pending.exists()


async def test_a_truncated_pending_line_is_set_aside_and_the_rest_written(
    tmp_path: Path,
    emulator: BotApiEmulator,
    seed_library: Library,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A power cut left half a row at the end of the pending file: the next start writes
    every whole row, moves the broken line to a side file of its own, and says so."""
    settings = settings_for(tmp_path, emulator)
    chat = ChatRow(READERS[0], "private")
    turns = [
        Turn(chat, UserRow(READERS[0]), f"question {n} é", "question", "reply", False, 1.0)
        for n in range(3)
    ]
    settings.pending_path.parent.mkdir(parents=True)
    pending.save(settings.pending_path, turns)
    whole = settings.pending_path.read_bytes()
    cut = whole.splitlines()[0][:-12]  # the last row, cut off mid-write
    settings.pending_path.write_bytes(whole + cut)
    app = await start_bot(settings, seed_library)
    try:
        assert await get_services_of(app).log.flush()
    finally:
        await stop_bot(app)
    with sqlite3.connect(settings.db_path) as db:
        logged = db.execute("SELECT text FROM messages ORDER BY id").fetchall()
    assert logged == [(t.text,) for t in turns]
    assert not settings.pending_path.exists()
    (aside,) = settings.pending_path.parent.glob("*.pending.bad-*.jsonl")
    assert aside.read_bytes() == cut + b"\n"
    assert aside.stat().st_mode & 0o777 == 0o600
    assert f"set 1 unreadable line aside in {aside}" in caplog.text
