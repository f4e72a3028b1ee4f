"""The articles being served, opened from the index cache the same way for every front end:
`newsbot run` (Telegram), `newsbot chat`, `ask`, `sources`, `eval` and the benchmarks."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.collection.cache import Loaded, load_cached
from bot.collection.cache_folder import CacheFolderError
from bot.collection.snapshots import Progress
from bot.config import Settings, StartupError
from bot.language.detect import set_article_language
from bot.memory import settle_memory
from bot.retrieval.search import SearchIndex
from bot.semantic.background import Progress as Embedded
from bot.serving.library import Library
from bot.serving.reload import compact_later
from bot.serving.semantic import open_semantic
from bot.text import plural

log = logging.getLogger("newsbot")


def load_articles(
    settings: Settings,
    progress: Progress | None = None,
    force: bool = False,
    compact: bool = True,
) -> Loaded:
    """The articles and their index from the cache, brought up to date with the folder (only
    new and changed files are read). StartupError when the cache folder is not the cache's
    own or the folder holds no article."""
    folder, cache = settings.articles_dir, settings.cache_dir
    set_article_language(settings.articles_language)
    try:
        loaded = load_cached(folder, cache, force=force, progress=progress, compact=compact)
    except CacheFolderError as exc:
        raise StartupError(str(exc)) from None
    if loaded.indexes is None:
        raise StartupError(
            f"no articles found in {settings.articles_dir}: add .txt or .md files there, "
            "or point NEWSBOT_ARTICLES_DIR at your articles folder"
        )
    return loaded


def open_library(
    settings: Settings,
    announce: bool = False,
    compact: bool = True,
    semantic: str = "now",
    progress: Progress | None = None,
) -> Library:
    """The Library serving the articles (loaded as `load_articles` does); the segments are
    merged first if they call for it, unless `compact` is false. With a model (NEWSBOT_MODEL),
    the passages without vectors are embedded `semantic` = "now" (`progress` is told, as
    stage "embedding"), or in the "background" while the library answers lexically; "off":
    no semantic stage (listing sources needs none)."""
    started = time.perf_counter()
    loaded = load_articles(settings, compact=compact, progress=progress)
    collection = loaded.collection
    stage = None if semantic == "off" else open_semantic(settings, semantic == "background")
    library = Library.of(collection, SearchIndex(collection, built=loaded.indexes), stage)
    if stage is not None:
        stage.attach(library.current.index, _steps(progress, len(collection.passages)))
    log.log(
        logging.INFO if announce else logging.DEBUG,
        "Loaded %s (%s, %d skipped) from %s in %.0f ms (index %s, %s read)",
        plural(len(collection.articles), "article"),
        plural(len(collection.passages), "passage"),
        len(collection.skipped),
        settings.articles_dir,
        (time.perf_counter() - started) * 1000,
        loaded.status,
        plural(loaded.read, "file"),
    )
    return library


def _steps(progress: Progress | None, total: int) -> Callable[[Embedded], None] | None:
    """Embedding progress as `load_cached` reports its stages: passages done since last time."""
    if progress is None:
        return None
    done = 0

    def step(now: Embedded) -> None:
        nonlocal done
        progress("embedding", now.embedded - done, total)
        done = now.embedded

    return step


def open_library_to_serve(settings: Settings) -> Library:
    """The Library for a bot that runs for long: announced, its objects frozen out of the
    garbage collector's way, and a grown delta merged in the background meanwhile."""
    library = open_library(settings, announce=True, compact=False, semantic="background")
    settle_memory()
    compact_later(settings.cache_dir, library.current.index.built)
    return library
