"""Re-reading the articles folder while the bot runs: /reload and the folder watch.

The new collection is loaded and indexed beside the old one, then swapped in with one
assignment (Library.replace): questions asked meanwhile are answered from the old index,
and a folder that cannot be read, or holds no readable article, leaves the old one in place.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchfiles import Change, awatch

from bot.articles import ARTICLE_SUFFIXES, load_collection
from bot.cache import load_or_build
from bot.index import SearchIndex
from bot.library import Changes, Library, compare

log = logging.getLogger(__name__)

# Wait this long for a burst of file changes (an rsync, an editor's save) to settle.
WATCH_DEBOUNCE_MS = 1000


class ReloadError(Exception):
    """The folder could not be re-read; the articles already loaded stay in use."""


def reload_articles(room: Library, folder: Path, cache_dir: Path) -> Changes:
    """Re-read `folder`, index it (or load the cached index) and swap it in. Blocking."""
    with room.reloading:  # one reload at a time: /reload and the watch may coincide
        kept = f"kept the {len(room.collection.articles)} articles already loaded"
        if not folder.is_dir():
            raise ReloadError(f"the articles folder {folder} is gone: {kept}")
        try:
            collection = load_collection(folder)
        except OSError as exc:
            raise ReloadError(f"cannot read {folder} ({exc.strerror or exc}): {kept}") from None
        if not collection.passages:
            raise ReloadError(f"no readable articles in {folder}: {kept}")
        changes = compare(room.collection, collection)
        if not changes.changed:
            return changes
        result = load_or_build(collection, cache_dir)
        changes = room.replace(collection, SearchIndex(collection, built=result.indexes))
        settle_memory()
        return changes


def settle_memory() -> None:
    """Exempt everything loaded so far from the cyclic garbage collector.

    A collection is millions of long-lived objects; a full collection pass over them stalls
    every thread for tens of milliseconds (bench_loop at 100k passages: event-loop lag max
    24-27 ms without, 3-5 ms with). Reference counting still frees an old collection.
    """
    gc.collect()
    gc.freeze()


def is_article_change(change: Change, path: str) -> bool:
    """Changes worth a reload: article files, not editors' swap files or dot-files."""
    name = Path(path).name
    return name.lower().endswith(ARTICLE_SUFFIXES) and not name.startswith(".")


async def watch_folder(
    folder: Path,
    on_change: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    debounce_ms: int = WATCH_DEBOUNCE_MS,
) -> None:
    """Call `on_change` after each settled burst of article changes under `folder`."""
    log.info("Watching %s for article changes", folder)
    async for changes in awatch(
        folder,
        watch_filter=is_article_change,
        debounce=debounce_ms,
        stop_event=stop,
        recursive=True,
    ):
        log.info("Articles folder changed (%d file event(s)): reloading", len(changes))
        try:
            await on_change()
        except Exception:  # the watch must outlive any one failed reload
            log.exception("Reload after a folder change failed")
