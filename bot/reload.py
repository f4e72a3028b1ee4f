"""Re-reading the articles folder while the bot runs: /reload and the folder watch.

Only the files that changed are read (bot/cache.py): their articles are indexed into a small
segment beside the ones in use, and the new collection is swapped in with one assignment
(Newsroom.replace): questions asked meanwhile are answered wholly from the old collection,
and a folder that cannot be read, or holds no readable article, leaves the old one in place.
When the small segment has grown, the segments are merged in a background thread.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchfiles import Change, awatch

from bot.articles import ARTICLE_SUFFIXES
from bot.cache import compact_in_place, open_library
from bot.chat import Changes, Newsroom
from bot.index import SearchIndex
from bot.indexing import Indexes
from bot.updates import Snapshot, needs_compaction

log = logging.getLogger(__name__)

# Wait this long for a burst of file changes (an rsync, an editor's save) to settle.
WATCH_DEBOUNCE_MS = 1000


class ReloadError(Exception):
    """The folder could not be re-read; the articles already loaded stay in use."""


def reload_articles(room: Newsroom, folder: Path, cache_dir: Path) -> Changes:
    """Read what changed in `folder`, index it and swap the new collection in. Blocking."""
    with room.reloading:  # one reload at a time: /reload and the watch may coincide
        kept = f"kept the {len(room.collection.articles)} articles already loaded"
        if not folder.is_dir():
            raise ReloadError(f"the articles folder {folder} is gone: {kept}")
        try:
            loaded = open_library(
                folder, cache_dir, origin=room.index.built, base=room.collection, compact=False
            )
        except OSError as exc:
            raise ReloadError(f"cannot read {folder} ({exc.strerror or exc}): {kept}") from None
        if loaded.indexes is None:
            raise ReloadError(f"no readable articles in {folder}: {kept}")
        if not loaded.changed:
            return Changes(skipped=loaded.skipped, total=len(room.collection.articles))
        collection = loaded.collection
        changes = room.replace(collection, SearchIndex(collection, built=loaded.indexes))
        settle_memory()
        compact_later(cache_dir, loaded.indexes)
        return changes


def compact_later(cache_dir: Path, indexes: Indexes) -> threading.Thread | None:
    """Merge the index segments in a background thread when they have grown (the next
    reload starts from the merged ones)."""
    if not isinstance(indexes.origin, Snapshot) or not needs_compaction(indexes.origin):
        return None
    thread = threading.Thread(
        target=_compact, args=(cache_dir, indexes), name="newsbot-compact", daemon=True
    )
    thread.start()
    return thread


def _compact(cache_dir: Path, indexes: Indexes) -> None:
    try:
        if compact_in_place(cache_dir, indexes):
            log.info("Index segments merged in %s", cache_dir)
    except Exception:  # a failed merge loses nothing: the segments in use stay valid
        log.exception("Merging the index segments failed")


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
