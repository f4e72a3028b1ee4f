"""Replies that are not answers, end to end: the closest passages, said to be such."""

from __future__ import annotations

import sqlite3

import pytest

from bot.config import Settings
from handlers.services import NewsApp
from tests.support.bot import flushed
from tests.support.emulator.server import BotApiEmulator

pytestmark = pytest.mark.e2e
CHAT = 1001


async def test_closest_passages_are_said_to_be_no_answer_and_logged_as_unanswered(
    bot: NewsApp, emulator: BotApiEmulator, settings: Settings
) -> None:
    """A question about a person the article never names gets the closest passages under
    "I couldn't find an answer", no vote buttons, and a log row with answered = 0."""
    await emulator.send_text("What did President Karzai say about the Taliban troops withdrawal?")
    (reply,) = await emulator.wait_for(CHAT)
    assert reply["text"].startswith("I couldn't find an answer to that in the articles.")
    assert "but not “President Karzai”" in reply["text"]
    assert "<blockquote>" in str(reply["_html"])
    assert not reply.get("reply_markup")
    await flushed(bot)
    with sqlite3.connect(settings.db_path) as db:
        assert db.execute("SELECT answered FROM replies").fetchall() == [(0,)]
        assert db.execute("SELECT count(*) FROM hits").fetchone()[0] >= 1
