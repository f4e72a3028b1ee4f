"""Load, faults and restarts through the real `newsbot run` process: none lost, none twice."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path

import pytest

from bench.bench_load import run_load
from tests.support.emulator.process import bot_env, kill_newsbot, start_newsbot
from tests.support.emulator.server import BotApiEmulator
from tests.support.paths import SEEDS

pytestmark = pytest.mark.e2e


async def test_short_load_with_faults_and_a_restart() -> None:
    """The CI version of bench/bench_load.py: 20 readers, 300 questions, faults, a restart."""
    result = await run_load(users=20, questions=300, articles=SEEDS)
    assert result["problems"] == []
    assert result["turns_logged"] == 300


async def test_sigkill_loses_no_turn(emulator: BotApiEmulator, tmp_path: Path) -> None:
    """Kill -9 under full load: every reply a reader received is in the log (each turn is
    committed before its reply is sent)."""
    db = tmp_path / "log.sqlite3"
    env = bot_env(emulator.base_url, SEEDS, db, NEWSBOT_RATE_LIMIT="0")
    bot = await start_newsbot(env, tmp_path)
    asked: dict[int, list[int]] = {}

    async def reader(chat: int) -> None:
        while True:
            reply = emulator.next_reply(chat)
            message = await emulator.send_text("How many Taliban prisoners?", chat_id=chat)
            asked.setdefault(chat, []).append(message["message_id"])
            await reply

    try:
        await emulator.wait_until(lambda: bool(emulator.commands), timeout=60)
        readers = [asyncio.create_task(reader(3000 + n)) for n in range(50)]  # full load
        await emulator.wait_until(lambda: len(emulator.sent) >= 200, timeout=60)  # under way
        killed_at = time.monotonic()
        bot.kill()
        await bot.wait()
        for task in readers:
            task.cancel()
        for task in readers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await kill_newsbot(bot)
    with sqlite3.connect(db) as conn:
        logged = set(conn.execute("SELECT chat_id, telegram_message_id FROM messages"))
    replied = 0
    lost_ages = []
    for chat, ids in asked.items():
        for question_id, reply in zip(ids, emulator.sent_to(chat), strict=False):
            replied += 1
            if (chat, question_id) not in logged:
                lost_ages.append(killed_at - reply["_at"])
    print(  # the figure the README quotes: pytest -s tests/test_load_e2e.py -k sigkill
        f"SIGKILL under load: {replied} turns replied, {len(lost_ages)} not logged, the oldest "
        f"of them replied {max(lost_ages, default=0.0) * 1000:.0f} ms before the kill"
    )
    assert replied > 100  # the bot was under load when killed
    assert lost_ages == []
