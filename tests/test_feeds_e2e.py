"""Feed polling in the running bot: a new feed item becomes answerable without a restart."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pytest

from bot.articles import load_collection
from bot.serving.library import Library
from tests.support.bot import bot_settings, start_bot, stop_bot
from tests.support.emulator.server import BotApiEmulator
from tests.support.paths import SEEDS
from tests.support.waiting import until
from tests.support.websites import NewsSite, rss

pytestmark = pytest.mark.e2e
CHAT = 1001


def story(slug: str, title: str, sentence: str) -> dict[str, str]:
    """A feed item carrying its whole text (six paragraphs, one with `sentence`)."""
    filler = "".join(
        f"<p>Paragraph {n} of the report describes the background to the decision, the "
        "people it affects and what happens next, as officials explained on Tuesday.</p>"
        for n in range(1, 6)
    )
    return {
        "title": title,
        "link": f"{{base}}/stories/{slug}",
        "content": f"<p>{sentence}</p>{filler}",
    }


async def test_new_feed_items_become_answerable_without_a_restart(
    tmp_path: Path, emulator: BotApiEmulator, site: NewsSite, caplog: pytest.LogCaptureFixture
) -> None:
    """The poller imports the feed, the bot reloads, answers cite the original URL; a feed
    that fails (404) is logged and polling goes on."""
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    items = [
        story("harbour", "Zorblax harbour opens", "The Zorblax harbour opened to ships on Friday.")
    ]
    site.feeds["news.rss"] = rss(items)
    settings = bot_settings(
        tmp_path,
        emulator,
        NEWSBOT_ARTICLES_DIR=articles,
        NEWSBOT_FEEDS=f"{site.url('/feeds/news.rss')}, {site.url('/feeds/gone.rss')}",
        NEWSBOT_FEED_INTERVAL="0.02",  # 1.2 s
        NEWSBOT_FETCH_DELAY="0",
        NEWSBOT_IMPORT_STATE=tmp_path / "data" / "import-state.json",
    )
    library = Library.of(load_collection(articles))
    app = await start_bot(settings, library)
    try:
        await until(lambda: library.generation >= 2)
        await emulator.send_text("When did the Zorblax harbour open?")
        (reply,) = await emulator.wait_for(CHAT)
        assert "opened to ships on Friday" in reply["text"]
        links = re.findall(r'<a href="([^"]+)"', reply["_html"])
        assert site.url("/stories/harbour") in links  # the title links to the original
        assert any(href.startswith("https://t.me/") for href in links)  # and "open in bot"

        items.append(
            story("bridge", "Quokka bridge reopens", "The Quokka bridge reopened at noon.")
        )
        site.feeds["news.rss"] = rss(items)
        await until(lambda: library.generation >= 3)
        await emulator.send_text("When did the Quokka bridge reopen?")
        replies = await emulator.wait_for(CHAT, 2)
        assert "reopened at noon" in replies[-1]["text"]
        assert len(list(articles.rglob("*.md"))) == 2
        assert "HTTP 404" in caplog.text and "Feed import failed" in caplog.text
        rounds = len(site.requests_to("/feeds/news.rss"))
        # Two more rounds: 304s, nothing written, no reload.
        await until(lambda: len(site.requests_to("/feeds/news.rss")) >= rounds + 2, timeout=10)
        assert library.generation == 3
    finally:
        await stop_bot(app)
    assert any(r.levelno == logging.INFO and "Feeds polled" in r.message for r in caplog.records)
