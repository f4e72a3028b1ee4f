"""The feed poller as a service: rounds, reloads only on change, failures, a prompt stop."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from bot.ingest.web import Fetcher
from bot.serving.library import Changes
from bot.serving.poller import FeedPoller
from bot.serving.reload import ReloadError
from tests.support.waiting import until
from tests.support.websites import NewsSite, full_text, rss


def poller(
    site: NewsSite, tmp_path: Path, reloads: list[int], *feeds: str, timeout: float = 1.5
) -> FeedPoller:
    async def on_change() -> Changes:
        reloads.append(1)
        if len(reloads) == 1:
            raise ReloadError("the folder is gone")  # logged; the next round goes on
        return Changes((), (), (), (), 1)

    return FeedPoller(
        [site.url(f) for f in feeds],
        tmp_path / "articles",
        tmp_path / "state.json",
        interval_s=0.2,
        on_change=on_change,
        fetcher=Fetcher(delay=0, timeout=timeout),
    )


async def test_rounds_reload_only_when_articles_changed(site: NewsSite, tmp_path: Path) -> None:
    """Round 1 adds (reload), round 2 is a 304 (no reload), a new item reloads again; a
    failing feed and a failing reload are survived."""
    items = [{"title": "One", "link": "{base}/stories/1", "content": full_text("one")}]
    site.feeds["f.rss"] = rss(items)
    reloads: list[int] = []
    service = poller(site, tmp_path, reloads, "/feeds/f.rss", "/status/500")
    first = await service.poll_once()
    assert [r.status for r in first] == ["added", "failed"]
    assert await service.poll_once() and len(reloads) == 1
    items.append({"title": "Two", "link": "{base}/stories/2", "content": full_text("two")})
    site.feeds["f.rss"] = rss(items)
    third = await service.poll_once()
    assert [r.status for r in third] == ["unchanged", "added", "failed"]
    assert len(reloads) == 2
    await service.fetcher.close()


async def test_started_poller_polls_and_stops_promptly_mid_round(
    site: NewsSite, tmp_path: Path
) -> None:
    """start() polls in the background; stop() during a slow round ends it at once."""
    site.feeds["f.rss"] = rss([{"title": "Slow", "link": "{base}/slow"}])
    site.slow_s = 2.5  # longer than the stop may take, shorter than the fetch timeout
    service = poller(site, tmp_path, [], "/feeds/f.rss", timeout=10)
    task = service.start()
    await until(lambda: bool(site.requests_to("/slow")), timeout=5)
    started = time.monotonic()
    await service.stop()
    assert task.done() and time.monotonic() - started < 1.0


async def test_the_start_line_counts_feeds_in_words(
    site: NewsSite, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The poller's start line says "1 feed", not "1 feed(s)"."""
    site.feeds["f.rss"] = rss([])
    service = poller(site, tmp_path, [], "/feeds/f.rss")
    caplog.set_level(logging.INFO, logger="bot.serving.poller")
    stop = asyncio.Event()
    stop.set()  # the service stops at once, after its start line
    await service._run(stop)
    await service.fetcher.close()
    assert "Polling 1 feed every" in caplog.text and "(s)" not in caplog.text
