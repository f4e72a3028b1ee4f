"""Re-reading the articles folder while the bot runs: /reload and the folder watch.

Only the files that changed are read (bot/collection/cache.py): their articles are indexed into a
small segment beside the ones in use, and the new collection is swapped in with one assignment
(Library.replace): questions asked meanwhile are answered wholly from the old collection,
and a folder that cannot be read, or holds no readable article, leaves the old one in place.
When the small segment has grown, the segments are merged in a background thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from watchfiles import Change, awatch

from bot.collection.cache import compact_in_place, load_cached
from bot.collection.cache_folder import CacheFolderError
from bot.collection.manifest import Scan
from bot.collection.snapshots import Snapshot, needs_compaction
from bot.lexical.indexing import Indexes
from bot.memory import settle_memory
from bot.retrieval.search import SearchIndex
from bot.scan import ARTICLE_SUFFIXES
from bot.serving.library import Changes, Library
from bot.text import plural

log = logging.getLogger(__name__)

# Wait this long for a burst of file changes (an rsync, an editor's save) to settle.
WATCH_DEBOUNCE_MS = 1000
# From this many files, /reload scans the folder in a child process (starting one costs
# ~0.3 s; scanning 20,000 files under load in a thread costs more).
CHILD_SCAN_FILES = 20_000


class ReloadError(Exception):
    """The folder could not be re-read; the articles already loaded stay in use."""


def reload_articles(
    library: Library, folder: Path, cache_dir: Path, changed: Iterable[str] | None = None
) -> Changes:
    """Read what changed in `folder`, index it and swap the new collection in. Blocking.

    `changed`: the files (paths under the folder) the folder watch saw change; only they are
    looked at. Without it (/reload) every file's stat fields are compared with the manifest.
    """
    with library.reloading:  # one reload at a time: /reload and the watch may coincide
        kept = f"kept the {len(library.collection.articles)} articles already loaded"
        if not folder.is_dir():
            raise ReloadError(f"the articles folder {folder} is gone: {kept}")
        try:
            in_use, base = library.current.index.built, library.collection
            scan = whole_scan(folder, in_use) if changed is None else None
            loaded = load_cached(
                folder,
                cache_dir,
                origin=in_use,
                base=base,
                changed=changed,
                scan=scan,
                compact=False,
            )
        except OSError as exc:
            raise ReloadError(f"cannot read {folder} ({exc.strerror or exc}): {kept}") from None
        except CacheFolderError as exc:
            raise ReloadError(f"{exc}: {kept}") from None
        if loaded.indexes is None:
            raise ReloadError(f"no readable articles in {folder}: {kept}")
        if not loaded.changed:
            return Changes(skipped=loaded.skipped, total=len(library.collection.articles))
        collection = loaded.collection
        changes = library.replace(collection, SearchIndex(collection, built=loaded.indexes))
        settle_memory()
        compact_later(cache_dir, loaded.indexes)
        return changes


def whole_scan(folder: Path, in_use: Indexes) -> Scan | None:
    """A large folder is scanned in a child process (see Scan.in_child); a small one where
    load_cached is (None)."""
    snapshot = in_use.origin
    if isinstance(snapshot, Snapshot) and len(snapshot.manifest.paths) >= CHILD_SCAN_FILES:
        return Scan.in_child(folder)
    return None


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


def is_article_change(change: Change, path: str) -> bool:
    """Changes worth a reload: article files, and what may be a folder of them (a name
    without a suffix); not editors' swap files or dot-files."""
    name = Path(path).name
    if name.startswith("."):
        return False
    return name.lower().endswith(ARTICLE_SUFFIXES) or "." not in name


def changed_files(folder: Path, paths: Iterable[str]) -> frozenset[str] | None:
    """The changed article files as paths under `folder`; None when something else changed
    (a folder moved in or out): then the whole folder must be scanned."""
    roots = [os.path.abspath(folder), os.path.realpath(folder)]
    found = set()
    for path in paths:
        if not path.lower().endswith(ARTICLE_SUFFIXES):
            return None
        rel = next(
            (os.path.relpath(path, r) for r in roots if os.path.abspath(path).startswith(r)),
            None,
        )
        if rel is None or rel.startswith(".."):
            return None
        found.add(rel.replace(os.sep, "/"))
    return frozenset(found)


async def watch_folder(
    folder: Path,
    on_change: Callable[[frozenset[str] | None], Awaitable[None]],
    stop: asyncio.Event,
    debounce_ms: int = WATCH_DEBOUNCE_MS,
) -> None:
    """Call `on_change` after each settled burst of article changes under `folder`, with
    the files that changed (None: scan the whole folder). A folder replaced under its name
    (renamed away, another renamed in) is noticed within a debounce and watched anew."""
    log.info("Watching %s for article changes", folder)
    while not stop.is_set():
        identity = await _wait_for_folder(folder, stop, debounce_ms)
        if identity is None:
            return
        await _watch_one(folder, identity, on_change, stop, debounce_ms)


async def _watch_one(
    folder: Path,
    identity: tuple[int, int],
    on_change: Callable[[frozenset[str] | None], Awaitable[None]],
    stop: asyncio.Event,
    debounce_ms: int,
) -> None:
    """Watch the folder `identity` names until it is no longer the one at `folder`."""
    async for changes in awatch(
        folder,
        watch_filter=is_article_change,
        debounce=debounce_ms,
        stop_event=stop,
        recursive=True,
        rust_timeout=debounce_ms,
        yield_on_timeout=True,  # to look at the folder's identity now and then
    ):
        replaced = _identity(folder) != identity
        if replaced:
            log.warning("The articles folder %s was replaced: watching the new one", folder)
        elif not changes:
            continue
        else:
            log.info("Articles folder changed (%s): reloading", plural(len(changes), "file event"))
        try:
            paths = (path for _, path in changes)
            await on_change(None if replaced else changed_files(folder, paths))
        except Exception:  # the watch must outlive any one failed reload
            log.exception("Reload after a folder change failed")
        if replaced:
            return


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return info.st_dev, info.st_ino


async def _wait_for_folder(
    folder: Path, stop: asyncio.Event, every_ms: int
) -> tuple[int, int] | None:
    """The identity of the folder at `folder`, once there is one (None: stopped)."""
    while (identity := _identity(folder)) is None:
        try:
            await asyncio.wait_for(stop.wait(), every_ms / 1000)
            return None
        except TimeoutError:
            continue
    return identity
