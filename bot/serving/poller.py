"""The feed poller: `newsbot run` imports NEWSBOT_FEEDS every NEWSBOT_FEED_INTERVAL minutes.

New and changed articles are written into the articles folder, then `on_change` (the bot's
reload helper, the same path /reload takes) swaps them into the index. A feed that fails is
logged and tried again the next round; nothing it does stops the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot.config import Settings
from bot.ingest.extract_pool import EXTRACT_TIMEOUT_S, ExtractorPool
from bot.ingest.imports import Importer, ImportResult, fetcher_from
from bot.ingest.web import Fetcher
from bot.serving.library import Changes
from bot.serving.reload import ReloadError
from bot.text import plural

log = logging.getLogger(__name__)

# The first round starts this soon after start-up (the bot answers first).
FIRST_ROUND_S = 1.0


class FeedPoller:
    """Imports a list of feeds now and then, in the background, until stopped."""

    def __init__(
        self,
        feeds: Sequence[str],
        folder: Path,
        state_path: Path,
        interval_s: float,
        on_change: Callable[[], Awaitable[Changes]],
        fetcher: Fetcher,
        extract_timeout: float = EXTRACT_TIMEOUT_S,
    ) -> None:
        self.feeds = tuple(feeds)
        self.folder = folder
        self.state_path = state_path
        self.interval_s = interval_s
        self.on_change = on_change
        self.fetcher = fetcher
        self.extract_timeout = extract_timeout
        self.rounds = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pool: ExtractorPool | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, on_change: Callable[[], Awaitable[Changes]]
    ) -> FeedPoller:
        return cls(
            settings.feeds,
            settings.articles_dir,
            settings.import_state,
            settings.feed_interval * 60,
            on_change,
            fetcher_from(settings),
            settings.extract_timeout,
        )

    def start(self, stop: asyncio.Event | None = None) -> asyncio.Task[None]:
        """Start polling; it ends on `stop()` or when `stop` (the bot's shutdown) is set."""
        # One worker process extracts the pages, so the bot's own thread keeps answering
        # (and a page that takes too long is given up, its worker killed).
        self._pool = ExtractorPool(self.extract_timeout)
        self._task = asyncio.create_task(self._run(stop), name="feed-poller")
        return self._task

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, outer: asyncio.Event | None) -> None:
        log.info("Polling %s every %g min", plural(len(self.feeds), "feed"), self.interval_s / 60)
        stopping = asyncio.create_task(_first(self._stop, outer))
        try:
            delay = FIRST_ROUND_S
            while not await _sleep_unless(stopping, delay):
                round_task = asyncio.create_task(self.poll_once())
                await asyncio.wait({round_task, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not round_task.done():  # shutting down mid-round: files are whole anyway
                    round_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await round_task
                    break
                delay = self.interval_s
        finally:
            stopping.cancel()
            await self.fetcher.close()
            if self._pool is not None:
                self._pool.close()

    async def poll_once(self) -> list[ImportResult]:
        """One round over every feed; reloads the articles if any were added or updated."""
        importer = Importer(self.folder, self.state_path, self.fetcher, self._pool)
        try:
            results = await importer.run(self.feeds)
        except Exception:  # a bug in one round must not end the polling
            log.exception("Feed round failed")
            return []
        finally:
            self.rounds += 1
        for result in results:
            if result.status == "failed":
                log.warning("Feed import failed: %s", result.line())
        written = [r for r in results if r.status in ("added", "updated")]
        log.info(
            "Feeds polled: %d added, %d updated, %d unchanged, %d failed",
            sum(r.status == "added" for r in results),
            sum(r.status == "updated" for r in results),
            sum(r.status == "unchanged" for r in results),
            sum(r.status == "failed" for r in results),
        )
        if written:
            try:
                changes = await self.on_change()
                log.info("Articles reloaded after the feed round: %s", changes.summary())
            except ReloadError as exc:
                log.warning("Reload after the feed round failed, nothing changed: %s", exc)
            except Exception:  # the next round tries again
                log.exception("Reload after the feed round failed")
        return results


async def _first(*events: asyncio.Event | None) -> None:
    """Returns when any of the events is set."""
    waits = [asyncio.create_task(e.wait()) for e in events if e is not None]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


async def _sleep_unless(stopping: asyncio.Task[None], seconds: float) -> bool:
    """Sleep `seconds`; True at once if the poller is stopping."""
    done, _ = await asyncio.wait({stopping}, timeout=seconds)
    return bool(done)
